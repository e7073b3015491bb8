import type { SignedAuthorization } from '../../src/approvals/authorization';
import type { EmergencyPolicy, RollbackImpact } from '../../activities/impact';
import type { PlanRef } from '../../src/migrations/types';
import { losesData } from '../../src/rollback/describe-loss';
import { quick } from '../activity-proxies';
import { GUIDE_LABEL } from '../incident-report';
import type { ProgressTracker } from '../progress-tracker';
import type { NotificationSeverity } from '../../src/app/notify';
import { notify } from '../steps/notify';
import type { RollbackApproval } from './approval';
import type { Incident } from './incident';

/** readMigrationState needs a plan; without rollback files only the ledger is read. */
export const EMPTY_PLAN: PlanRef = { checksum: '0'.repeat(64), migrations: [] };

/** What every step of a rollback reads: who, where, the incident, the progress, how to tell. */
export interface RollbackContext {
  environment: string;
  initiator: string;
  workflowId: string;
  incidentId: string;
  /** The backup name of this incident's emergency backup. */
  emergencyBackupName: string;
  /** The rollback files, when given. */
  plan?: PlanRef;
  /** Rollback files changed since applied are run anyway (`--accept-changed-rollback`). */
  acceptChangedRollback?: { reason: string; acceptedBy: string };
  tracker: ProgressTracker;
  incident: Incident;
  approval: RollbackApproval;
  /** Signed approvals: the signed start, approval or break-glass, for the activities to verify. */
  authorize?: () => SignedAuthorization;
  notify: (
    title: string,
    text: string,
    severity: NotificationSeverity,
    fields?: Record<string, string>,
  ) => Promise<void>;
}

/** A rollback that acts: the context and the environment's emergency policy. */
export interface RollbackRun extends RollbackContext {
  policy: EmergencyPolicy;
  migrationTarget?: number;
  /** The threshold watch after the rollback (input overrides, else the policy). */
  watch: { windowMs: number; intervalMs: number };
}

/** Notifications of an incident carry its environment and id; undelivered ones join the timeline. */
export function incidentNotifier(
  environment: string,
  incident: Incident,
): RollbackContext['notify'] {
  return (title, text, severity, fields = {}) =>
    notify(
      environment,
      {
        title,
        text,
        severity,
        fields: { Environment: environment, Incident: incident.header.incidentId, ...fields },
      },
      (why) => incident.note(why),
    );
}

export function readAppVersion(run: RollbackContext): Promise<string | null> {
  return quick.readApplicationVersion.executeWithOptions(
    { summary: `read the application version of ${run.environment}` },
    [{ environment: run.environment }],
  );
}

/** The rollback plan in the Web UI, one line per change. */
export function showPlan(run: RollbackContext, lines: string[]): void {
  run.tracker.setPhase('plan', ['**Rollback plan**', ...lines.map((l) => `- ${l}`)].join('\n'));
}

/** The assessment is over: the step, the Web UI and the timeline say what will happen. */
export function planned(run: RollbackContext, lines: string[]): void {
  run.tracker.complete('assess impact', lines.join('; '));
  showPlan(run, lines);
  run.incident.note(`impact assessed: ${lines.join('; ')}`);
}

/** The impact goes into the incident (the activity's result, without extras). */
export function recordImpact(run: RollbackContext, impact: RollbackImpact): void {
  run.incident.learn({
    impact: {
      currentVersion: impact.currentVersion,
      target: impact.target,
      reverted: impact.reverted,
      missingRollbackFiles: impact.missingRollbackFiles,
      dataLoss: impact.dataLoss,
    },
  });
}

/** The tables and columns whose data a rollback destroys. */
export function lostData(impact: RollbackImpact): RollbackImpact['dataLoss'] {
  return impact.dataLoss.filter(losesData);
}

/** `orders.note (12 values), audit (3 rows)`. */
export function summariseLoss(impact: RollbackImpact): string {
  return lostData(impact)
    .map(
      (d) =>
        `${d.table}${d.column ? `.${d.column}` : ''} (${d.rows ?? '?'} ${d.column ? 'values' : 'rows'})`,
    )
    .join(', ');
}

/** Tells stakeholders what will happen, just before it does. */
export async function announce(run: RollbackContext, plannedSteps: string): Promise<void> {
  const { type, decision } = run.incident.header;
  const label = GUIDE_LABEL[type];
  run.tracker.start('notify stakeholders', 'telling stakeholders what will happen');
  await run.notify(
    `Emergency rollback starting on ${run.environment}: ${label}`,
    `${run.initiator} started a ${label} rollback. ${decision.reason}.\n${plannedSteps}`,
    'critical',
    { 'Started by': run.initiator, Type: label, 'Guide time': decision.expectedTime },
  );
  run.tracker.complete('notify stakeholders', plannedSteps);
  run.incident.note('stakeholders notified');
}

/**
 * Running rollback files that changed since their migration was applied is the operator's
 * explicit, recorded choice; in a production tier it also needs the rollback's approval.
 */
export async function requireAcceptanceApproval(run: RollbackRun): Promise<void> {
  const accepted = run.acceptChangedRollback;
  if (!accepted) return;
  run.incident.note(
    `${accepted.acceptedBy} accepts rollback files changed since applied: ${accepted.reason}`,
  );
  await run.approval.require(
    run,
    true,
    `${accepted.acceptedBy} accepts running rollback files that changed since their migration was applied: ${accepted.reason}`,
  );
}
