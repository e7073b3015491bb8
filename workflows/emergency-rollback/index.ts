/**
 * The guide's emergency rollback: pre-rollback (decide, assess impact and scope, approval of a
 * data-losing rollback in production, emergency backup, notify stakeholders), during (execute
 * step by step, verifying each), post-rollback (verify the system, watch the thresholds,
 * record, incident document, post-mortem). `status-only` reports and changes nothing.
 *
 * This file is the orchestration, top to bottom; each rollback type has its own file.
 */
import { patched, workflowInfo } from '@temporalio/workflow';
import { parseDuration } from '../../src/config/duration';
import type { DeploymentRecord } from '../../src/records/deployments';
import { quick } from '../activity-proxies';
import {
  emergencyRollbackInputSchema,
  incidentIdFor,
  type EmergencyRollbackInput,
  type EmergencyRollbackResult,
} from '../definitions';
import { showDetails } from '../deploy-monitoring';
import { GUIDE_LABEL } from '../incident-report';
import { ENVIRONMENT_LEASE_PATCH } from '../lease/definitions';
import { EnvironmentLease } from '../lease/lease-client';
import { ProgressTracker } from '../progress-tracker';
import {
  authorizationOf,
  loadSignatureContext,
  RunSignatures,
  SIGNED_APPROVALS_PATCH,
  verifySignedStart,
} from '../signed-approvals';
import { parseWorkflowInput } from '../text';
import { verifySystem, watchThresholds } from './after-rollback';
import { applicationRollback } from './application';
import { RollbackApproval } from './approval';
import { chooseRollback, STEPS } from './choose';
import { finishRollback } from './finish';
import { fullEmergencyRollback } from './full';
import { Incident } from './incident';
import { migrationRollback } from './migration';
import { incidentNotifier, type RollbackContext, type RollbackRun } from './run';
import { readStatusOnly } from './status-only';

export { chooseRollback, guideTimeFor } from './choose';
export { CONCURRENT_EMERGENCY_BACKUP_PATCH, PRESERVED_DATABASE_PATCH } from './full';
export { INCIDENT_DOCUMENT_ONCE_PATCH } from './finish';

const DEFAULT_APPROVAL_TIMEOUT = '1h';

export async function emergencyRollback(
  rawInput: EmergencyRollbackInput,
): Promise<EmergencyRollbackResult> {
  // ── the whole input first: nothing runs on a bad one ──
  const input = parseWorkflowInput(emergencyRollbackInputSchema, rawInput, 'emergency rollback');
  const { environment, initiator, plan, options } = input;
  const durations = parseDurations(options);
  const chosen = chooseRollback(input);
  const startedMs = Date.now();
  const tracker = new ProgressTracker('emergencyRollback', environment, STEPS[chosen.mode]);
  const lease = new EnvironmentLease(environment, {
    onWaiting: (details) => showDetails(tracker, details),
  });
  if (chosen.mode === 'status-only') return readStatusOnly(tracker, environment, plan, startedMs);

  // ── the incident, and the approval handlers before the first await ──
  const { decision, source } = chosen;
  const incidentId = incidentIdFor(environment, startedMs);
  const incident = new Incident({
    incidentId,
    workflowId: workflowInfo().workflowId,
    environment,
    initiator,
    startedMs,
    type: chosen.mode,
    decision,
    decisionSource: source,
    ...(input.issue ? { issue: input.issue } : {}),
    ...(input.severity ? { severity: input.severity } : {}),
    ...(input.description ? { description: input.description } : {}),
  });
  const context: RollbackContext = {
    environment,
    initiator,
    workflowId: incident.header.workflowId,
    incidentId,
    emergencyBackupName: `${incidentId}-emergency`,
    ...(plan ? { plan } : {}),
    ...(input.acceptChangedRollback
      ? { acceptChangedRollback: { ...input.acceptChangedRollback, acceptedBy: initiator } }
      : {}),
    tracker,
    incident,
    approval: new RollbackApproval(incident, input.breakGlass),
    notify: incidentNotifier(environment, incident),
  };

  tracker.complete('decide', `${GUIDE_LABEL[chosen.mode]}: ${decision.reason}`);
  incident.note(`decision: ${GUIDE_LABEL[chosen.mode]} (${source}): ${decision.reason}`);
  if (input.breakGlass)
    incident.note(`break-glass declared by ${initiator}: ${input.breakGlass.reason}`);
  if (chosen.mode === 'none') {
    await fixInPlace(context, input.description);
    return finishRollback(context, undefined, undefined);
  }

  // ── the rollback ──
  // Signed decisions (keys from the worker's config); older histories replay without them.
  const signed = patched(SIGNED_APPROVALS_PATCH);
  const keys = new RunSignatures(environment, context.approval, signed);
  let run: RollbackRun | undefined;
  let deploy: DeploymentRecord | undefined;
  try {
    const policy = await quick.loadEmergencyPolicy.executeWithOptions(
      { summary: `load the emergency policy of ${environment}` },
      [{ environment }],
    );
    if (signed) {
      keys.current = verifySignedStart(
        await loadSignatureContext(environment),
        initiator,
        plan?.checksum,
        [
          { payload: input, action: 'initiate-rollback', what: 'the start of this rollback' },
          ...(input.breakGlass
            ? [
                {
                  payload: input.breakGlass,
                  action: 'break-glass' as const,
                  what: 'the break-glass of this rollback',
                },
              ]
            : []),
        ],
      );
      context.authorize = () =>
        authorizationOf('rollback', input, context.approval.state, input.breakGlass);
    }
    const signatures = keys.current;
    context.approval.open(
      policy.approvers,
      startedMs + durations.approvalTimeoutMs,
      signatures
        ? {
            signatures,
            ...(plan ? { planChecksum: plan.checksum } : {}),
            reload: () => keys.reload(),
          }
        : undefined,
    );
    run = {
      ...context,
      policy,
      ...(input.migrationTarget !== undefined ? { migrationTarget: input.migrationTarget } : {}),
      watch: {
        windowMs: durations.watchWindowMs ?? policy.rollbackWindowMs,
        intervalMs: Math.max(100, durations.watchIntervalMs ?? policy.monitoringIntervalMs),
      },
    };
    // The lease from the assessment (which must see the state it will change) to the
    // verification; an emergency waits in line behind a deploy that is changing the database.
    if (patched(ENVIRONMENT_LEASE_PATCH))
      await lease.acquire({
        kind: 'emergencyRollback',
        initiator,
        purpose: `${GUIDE_LABEL[chosen.mode]} rollback (incident ${incidentId})`,
        wait: 'wait',
      });
    if (chosen.mode === 'migration') await migrationRollback(run);
    else if (chosen.mode === 'application') await applicationRollback(run);
    else deploy = await fullEmergencyRollback(run);
    if (await verifySystem(run)) await watchThresholds(run);
    else tracker.skip('watch thresholds', 'verification failed');
  } catch (error) {
    incident.interrupt(error, tracker);
  }
  try {
    return await finishRollback(context, run?.policy, deploy);
  } finally {
    // After the records (the deploy marked rolled back): the next holder reads them.
    await lease.release();
  }
}

/** P3 or a minor issue: nothing is rolled back; stakeholders hear it is fixed in place. */
async function fixInPlace(run: RollbackContext, description: string | undefined): Promise<void> {
  const { tracker, incident, environment } = run;
  const { decision } = incident.header;
  tracker.start('notify stakeholders', 'no rollback: fix in place');
  await run.notify(
    `No rollback on ${environment}: fix in place`,
    `${decision.reason}. ${description ?? ''}`.trim(),
    'info',
    { 'Reported by': run.initiator },
  );
  tracker.complete('notify stakeholders', 'fix in place announced');
  incident.conclude('no-action', decision.reason);
}

/** The input's durations (the input schema refused malformed ones), or the defaults. */
function parseDurations(options: {
  watchWindow?: string;
  watchInterval?: string;
  approvalTimeout?: string;
}) {
  const parse = (text: string | undefined) =>
    text === undefined ? undefined : parseDuration(text);
  return {
    watchWindowMs: parse(options.watchWindow),
    watchIntervalMs: parse(options.watchInterval),
    approvalTimeoutMs: parseDuration(options.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT),
  };
}
