import { planArgument } from '../../src/migrations/plan-ref';
import { quick } from '../activity-proxies';
import { missingRoles, requiredRolesFor } from '../approval-policy';
import { durationOption } from '../deploy-options';
import { signatureContextOf, verifySignedStart } from '../signed-approvals';
import { validationFailure } from '../text';
import type { FleetDeployResult } from './definitions';
import type { FleetRun } from './fleet-run';

/**
 * The start of a rollout: load the fleet and its members, validate the plan, and wait for one
 * set of approvals for the whole fleet. Returns the run's end when it is rejected or expires.
 */
export async function approveRollout(run: FleetRun): Promise<FleetDeployResult | undefined> {
  const { fleet, plan, initiator, options } = run.input;
  const { gate } = run;
  const loaded = await quick.loadFleet.executeWithOptions(
    { summary: `load fleet ${fleet} and its members` },
    [{ fleet }],
  );
  const validation = await quick.validatePlan.executeWithOptions(
    {
      summary: `validate ${plan.migrations.length} migrations, plan ${plan.checksum.slice(0, 12)}`,
    },
    [{ plan: planArgument(plan) }],
  );
  if (validation.errors.length) throw validationFailure(validation.errors);
  const highRisk = validation.highRisk;
  // Signed decisions: the initiator's signed start is checked before anything else.
  const signatures = run.keys
    ? verifySignedStart(signatureContextOf(loaded.keys, { fleet }), initiator, plan.checksum, [
        { payload: run.input, action: 'initiate-deploy', what: 'the start of this fleet rollout' },
      ])
    : undefined;
  if (run.keys) run.keys.current = signatures;
  run.begin({
    stage: 'approving',
    settings: loaded.settings,
    databases: loaded.members.map((environment) => ({
      environment,
      status: 'pending',
      attempts: 0,
    })),
    approvals: gate.state,
    wave: 0,
    waveOpened: true,
    failures: 0,
    highRisk,
    decisions: [],
    roster: loaded.approvals.roster,
    ...(signatures ? { signed: true } : {}),
  });
  const expiryMs =
    durationOption(options?.approvalExpiry, 'options.approvalExpiry') ?? loaded.approvals.expiryMs;
  gate.open({
    initiator,
    planChecksum: plan.checksum,
    roster: loaded.approvals.roster,
    requiredRoles: requiredRolesFor(loaded.approvals, { highRisk }),
    expiresAt: Date.now() + expiryMs,
    allowInitiator: loaded.approvals.allowInitiator,
    ...(signatures ? { signatures } : {}),
  });
  run.setStage(
    'approving',
    `waiting for ${missingRoles(gate.state).join(', ') || 'no approvals'} to roll plan \`${plan.checksum.slice(0, 12)}\` out to ${loaded.members.length} databases`,
  );
  const outcome = await gate.wait({
    reminderEveryMs: loaded.approvals.reminderEveryMs,
    remind: async () => undefined,
    stop: () => false,
    ...(run.keys && signatures ? { reloadKeys: () => run.keys!.reload() } : {}),
  });
  run.state.approvals = gate.state;
  if (outcome !== 'approved') {
    const reason =
      outcome === 'rejected'
        ? `rejected by ${gate.state.rejected?.approver}: ${gate.state.rejected?.reason}`
        : `the approval window closed with ${missingRoles(gate.state).join(', ')} missing; nothing was changed`;
    return run.finish(outcome === 'rejected' ? 'rejected' : 'approval-expired', reason);
  }
  run.setStage('rolling-out', 'approved: rolling out');
  return undefined;
}
