import { planArgument } from '../src/migrations/plan-ref';
import { ApplicationFailure } from '@temporalio/workflow';
import { checkSignedDecision } from './approval-policy';
import { long, quick } from './activity-proxies';
import type { DeployRun } from './deploy-run';
import { stepFailure } from './failures';
import { loadSignatureContext, verifySignedStart } from './signed-approvals';
import { validationFailure } from './text';

/**
 * Pre-deployment validation: the environment's policy, the signed start, the plan, the
 * migration state (no drift, something to deploy) and the rehearsal certificate (or a waiver).
 * Any failure here refuses the deploy before anything changed.
 */
export async function validateDeploy(run: DeployRun): Promise<void> {
  const { environment, plan, options, tracker, shortPlan } = run;
  tracker.start(
    'validate',
    `validating ${plan.migrations.length} migrations of plan ${shortPlan} for ${environment}`,
  );
  const policy = await quick.loadEnvironmentPolicy.executeWithOptions(
    { summary: `load the deploy policy of ${environment}` },
    [{ environment }],
  );
  run.policy = policy;
  if (run.signed)
    await loadSignatures(run).catch((error: unknown) => {
      // A refused start is recorded where refusals are read (the approvals query).
      if (error instanceof ApplicationFailure && error.type === 'SignatureRefused')
        run.gate.recordRefusal({
          summary: `start by ${run.initiator}`,
          reason: error.message,
          approver: run.initiator,
        });
      throw error;
    });
  const validation = await long.validatePlan.executeWithOptions(
    { summary: `validate ${plan.migrations.length} migrations, plan ${shortPlan}` },
    [{ plan: planArgument(plan) }],
  );
  run.validation = validation;
  if (validation.errors.length) throw validationFailure(validation.errors);
  const state = await quick.readMigrationState.executeWithOptions(
    { summary: `read migration state of ${environment}` },
    [{ environment, plan: planArgument(plan) }],
  );
  if (state.drift.length)
    throw stepFailure(
      'DriftError',
      `${environment} has drifted from plan ${shortPlan}: ${state.drift.join('; ')}`,
    );
  run.fromVersion = state.currentVersion;
  run.pending = state.pending;
  if (!run.pending.length && !options.appVersion)
    throw stepFailure(
      'NothingToDeploy',
      `${environment} is already at version ${run.fromVersion} with every migration of plan ${shortPlan} applied: nothing to deploy`,
    );
  if (options.appVersion && !policy.appHooks.deploy)
    throw stepFailure(
      'ConfigError',
      `an application version (${options.appVersion}) needs a deploy hook: set environments.${environment}.app.deploy in pgshift.config.json`,
    );
  const rehearsal = await checkRehearsal(run, policy.requireRehearsalFrom);
  tracker.complete(
    'validate',
    `${validation.migrations} migrations valid${validation.highRisk ? ' (HIGH RISK)' : ''}; ${environment} at version ${run.fromVersion}, ${run.pending.length} pending; ${rehearsal}`,
  );
}

/** A passing rehearsal of the same plan where the policy asks for one, or a recorded waiver. */
async function checkRehearsal(run: DeployRun, required: string | null): Promise<string> {
  const { environment, initiator, plan, options, shortPlan } = run;
  if (options.waiveRehearsal) {
    const waiver = { reason: options.waiveRehearsal.reason, by: initiator };
    run.waiver = waiver;
    await run.tell(
      'warning',
      `Rehearsal WAIVED for a deploy to ${environment}`,
      `${initiator} waived the ${required ?? 'staging'} rehearsal of plan ${shortPlan}: ${waiver.reason}`,
    );
    return `rehearsal waived by ${initiator}: ${waiver.reason}`;
  }
  if (!required) return 'no rehearsal required for this environment';
  const certificate = await quick.findRehearsalCertificate.executeWithOptions(
    { summary: `find a passing ${required} rehearsal of plan ${shortPlan}` },
    [{ environment: required, planChecksum: plan.checksum }],
  );
  if (!certificate)
    throw stepFailure(
      'RehearsalRequired',
      `no passing rehearsal of plan ${shortPlan} on ${required}: run \`pgshift rehearse --env ${required}\` with the same migrations first, or deploy with --waive-rehearsal "<reason>" (recorded and notified)`,
    );
  return `rehearsed on ${required} (${certificate.workflowId}, ${certificate.passedAt})`;
}

/** The approver keys, the initiator's signed start (and waiver), and who may cancel. */
async function loadSignatures(run: DeployRun): Promise<void> {
  const { environment, initiator, plan, input, gate } = run;
  const loaded = await loadSignatureContext(environment);
  const waiverSigned = run.options.waiveRehearsal;
  run.keys.current = verifySignedStart(loaded, initiator, plan.checksum, [
    { payload: input, action: 'initiate-deploy', what: 'the start of this deploy' },
    ...(waiverSigned
      ? [
          {
            payload: waiverSigned,
            action: 'rehearsal-waiver' as const,
            what: 'the rehearsal waiver of this deploy',
          },
        ]
      : []),
  ]);
  const cancelNonces: string[] = [];
  run.cancellation.judgeWith((request) => {
    const check = checkSignedDecision(
      request,
      'cancel',
      request.by,
      { usedNonces: cancelNonces },
      { now: Date.now(), planChecksum: plan.checksum, signatures: run.signatures },
    );
    if (check.ok) {
      if (check.signer) cancelNonces.push(check.signer.nonce);
      return true;
    }
    gate.recordRefusal({
      summary: `cancel by ${request.by}`,
      reason: check.reason,
      approver: request.by,
      ...(check.fingerprint ? { fingerprint: check.fingerprint } : {}),
    });
    return false;
  });
}
