import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftWorkflowKind,
} from '../src/temporal/search-attribute-keys';
import { EMERGENCY_BACKUP_COMPRESSION } from '../src/backup/emergency';
import { parseDuration } from '../src/config/duration';
import { evaluateThresholds, type Baseline, type ThresholdHistory } from '../src/verify/thresholds';
import type { EmergencyPolicy, RollbackImpact } from '../activities/impact';
import type { VerificationReport } from '../activities/verify';
import type { DeploymentRecord } from '../src/records/deployments';
import type { MigrationPlan } from '../src/migrations/types';
import { backups, long, quick } from './activity-proxies';
import { evaluateRollbackApproval, initialApprovalState, isFullyApproved } from './approval-policy';
import { DECISION_MATRIX, decideRollbackType } from './decision-matrix';
import {
  approvalsQuery,
  approveRollbackSignal,
  archiveWorkflowId,
  EMERGENCY_APPROVER_ROLE,
  emergencyRollbackInputSchema,
  rollbackWorkflowId,
  submitRollbackApprovalUpdate,
  type ApprovalState,
  type EmergencyRollbackInput,
  type EmergencyRollbackResult,
  type RollbackDecision,
  type RollbackFinalState,
  type RollbackType,
} from './definitions';
import { archivePreservedDatabase } from './archive-preserved-database';
import { describeFailure, stepFailure } from './failures';
import {
  compareWithGuide,
  formatSeconds,
  GUIDE_LABEL,
  incidentMarkdown,
  type IncidentFacts,
  type TimelineEvent,
} from './incident-report';
import { ProgressTracker } from './progress-tracker';
import { firstLine, padVersion, parseWorkflowInput } from './text';

type Mode = RollbackType | 'status-only';

/** The failure type of a rollback that was refused before anything changed. */
const REFUSED = 'RollbackRefused';
const DEFAULT_APPROVAL_TIMEOUT = '1h';

/**
 * Patch: a full emergency rollback by restore takes its emergency backup while pg_restore fills
 * the scratch database (one activity) instead of before it; histories without it replay the
 * old order.
 */
export const CONCURRENT_EMERGENCY_BACKUP_PATCH = 'full-emergency-backup-during-restore';

/**
 * Patch: a full emergency rollback by restore keeps the database it replaces (renamed at the
 * swap) as its emergency backup, and a child workflow archives it with pg_dump after the
 * rollback, instead of a pg_dump competing with pg_restore for the same cores.
 */
export const PRESERVED_DATABASE_PATCH = 'full-emergency-keep-replaced-database';

/** readMigrationState needs a plan; without rollback files only the ledger is read. */
const EMPTY_PLAN: MigrationPlan = { checksum: '0'.repeat(64), migrations: [] };

/** No pre-rollback baseline: the watch judges errors, response time, connections and failures. */
const NO_BASELINE: Baseline = {
  healthLatencyMs: null,
  healthLatencyByName: {},
  probeLatencyMs: null,
  at: '',
};

const STEPS: Record<Mode, string[]> = {
  'status-only': ['read status'],
  none: ['decide', 'notify stakeholders', 'incident document'],
  migration: [
    'decide',
    'assess impact',
    'approval',
    'emergency backup',
    'notify stakeholders',
    'revert migrations',
    'verify database',
    'verify system',
    'watch thresholds',
    'record',
    'incident document',
    'post-mortem',
  ],
  application: [
    'decide',
    'assess impact',
    'notify stakeholders',
    'roll back application',
    'verify application',
    'verify system',
    'watch thresholds',
    'record',
    'incident document',
    'post-mortem',
  ],
  'full-emergency': [
    'decide',
    'assess impact',
    'approval',
    'emergency backup',
    'notify stakeholders',
    'revert migrations',
    'verify database',
    'roll back application',
    'verify application',
    'verify system',
    'watch thresholds',
    'record',
    'incident document',
    'post-mortem',
  ],
};

const FLAG: Record<Exclude<Mode, 'none'>, string> = {
  migration: '--migration-target',
  application: '--app-rollback',
  'full-emergency': '--full-emergency',
  'status-only': '--status-only',
};

/** The guide's "Time to Execute" for a rollback type (its first row in the decision matrix). */
export function guideTimeFor(type: RollbackType): string {
  return DECISION_MATRIX.find((row) => row.type === type)?.expectedTime ?? 'N/A';
}

/** The operator's flag wins; otherwise the decision matrix decides from issue and severity. */
export function chooseRollback(input: {
  mode?: Exclude<Mode, 'none'>;
  issue?: Parameters<typeof decideRollbackType>[0]['issue'];
  severity?: Parameters<typeof decideRollbackType>[0]['severity'];
}): { mode: Mode; decision?: RollbackDecision; source: 'operator' | 'decision matrix' } {
  const matrix =
    input.issue && input.severity
      ? decideRollbackType({ issue: input.issue, severity: input.severity })
      : undefined;
  if (input.mode === 'status-only') return { mode: 'status-only', source: 'operator' };
  if (input.mode)
    return {
      mode: input.mode,
      source: 'operator',
      decision: {
        type: input.mode,
        expectedTime: guideTimeFor(input.mode),
        reason: `chosen by the operator (${FLAG[input.mode]})${
          matrix ? `; the decision matrix would choose ${matrix.type} (${matrix.reason})` : ''
        }`,
      },
    };
  if (!matrix)
    throw ApplicationFailure.nonRetryable(
      'no rollback type: give one of --migration-target=N, --app-rollback, --full-emergency, --status-only, or --issue and --severity for the decision matrix',
      'InvalidInput',
    );
  return { mode: matrix.type, decision: matrix, source: 'decision matrix' };
}

function refuse(message: string): ApplicationFailure {
  return stepFailure(REFUSED, message);
}

/**
 * The guide's emergency rollback: pre-rollback (decide, assess impact and scope, approval of a
 * data-losing rollback in production, emergency backup, notify stakeholders), during (execute
 * step by step, verifying each), post-rollback (verify the system, watch the thresholds,
 * record, incident document, post-mortem). `status-only` reports and changes nothing.
 */
export async function emergencyRollback(
  rawInput: EmergencyRollbackInput,
): Promise<EmergencyRollbackResult> {
  const input = parseWorkflowInput(emergencyRollbackInputSchema, rawInput, 'emergency rollback');
  const { environment, initiator, plan, options } = input;
  const startedMs = Date.now();
  const incidentId = rollbackWorkflowId(environment, startedMs);
  const emergencyBackupName = `${incidentId}-emergency`;
  const workflowId = workflowInfo().workflowId;
  const chosen = chooseRollback(input);
  const tracker = new ProgressTracker('emergencyRollback', environment, STEPS[chosen.mode]);
  if (chosen.mode === 'status-only') return readStatusOnly(tracker, environment, plan, startedMs);
  const type = chosen.mode;
  const decision = chosen.decision!;

  const timeline: TimelineEvent[] = [];
  const note = (text: string) => {
    timeline.push({ at: new Date().toISOString(), text });
    log.info(text, { incidentId });
  };
  const facts: Partial<IncidentFacts> = {};
  let policy: EmergencyPolicy | undefined;
  let approval: ApprovalState = initialApprovalState([EMERGENCY_APPROVER_ROLE], startedMs);
  let approvalRequired = false;
  let approvalWaitMs = 0;
  let gatePassed = false;
  let approvalSkipReason = 'not needed: no table or column holding data is dropped';
  let changed = false;
  let last: DeploymentRecord | null = null;
  let finalState: RollbackFinalState = 'completed';
  let reason: string | undefined;
  let cancelled: unknown;
  const breakGlass = input.breakGlass
    ? { reason: input.breakGlass.reason, by: initiator, skippedApproval: false }
    : undefined;

  const notify = (
    title: string,
    text: string,
    severity: 'info' | 'success' | 'warning' | 'critical',
    fields: Record<string, string> = {},
  ) =>
    quick.sendNotification
      .executeWithOptions({ summary: `notify: ${title}` }, [
        {
          environment,
          message: {
            title,
            text,
            severity,
            fields: { Environment: environment, Incident: incidentId, ...fields },
          },
        },
      ])
      .then((result) => {
        if (!result.delivered && !result.skipped)
          note(`notification "${title}" not delivered: ${result.error ?? 'unknown error'}`);
        return result;
      });

  // ── approval of a data-losing rollback: same policy code as the deploy's approvals ──
  const registerApprovalHandlers = (approvers: string[], expiresAt: number) => {
    approval = {
      ...initialApprovalState([EMERGENCY_APPROVER_ROLE], expiresAt),
      granted: approval.granted,
      refused: approval.refused,
    };
    const decide = (payload: unknown) => {
      const decided = evaluateRollbackApproval(approval, payload, {
        now: Date.now(),
        initiator,
        approvers,
        expiresAt,
      });
      approval = decided.state;
      if (decided.accepted) {
        const granted = approval.granted[approval.granted.length - 1];
        note(
          `approval granted by ${granted.approver}${granted.comment ? `: ${granted.comment}` : ''}`,
        );
      } else log.warn('rollback approval refused', { reason: decided.reason });
      return decided;
    };
    setHandler(approveRollbackSignal, (payload) => {
      decide(payload);
    });
    setHandler(submitRollbackApprovalUpdate, (payload) => {
      const decided = decide(payload);
      return {
        accepted: decided.accepted,
        ...(decided.accepted ? {} : { reason: decided.reason }),
        missingRoles: decided.state.missing,
      };
    });
    setHandler(approvalsQuery, () => approval);
  };

  /** Waits for one approval (or uses break-glass) before a data-losing step in production. */
  const gate = async (losesData: boolean, why: string): Promise<void> => {
    if (gatePassed || !losesData || !policy) return;
    if (!policy.production || !policy.requireApprovalForDataLoss) {
      approvalSkipReason = `not needed: ${policy.production ? 'emergency.requireApprovalForDataLoss is false' : `${environment} is not a production environment`}`;
      note(
        `data-losing step allowed without approval (${policy.production ? 'emergency.requireApprovalForDataLoss is false' : `${environment} is not a production environment`}): ${why}`,
      );
      gatePassed = true;
      return;
    }
    approvalRequired = true;
    if (breakGlass) {
      breakGlass.skippedApproval = true;
      gatePassed = true;
      tracker.complete('approval', `break-glass by ${initiator}: ${breakGlass.reason}`);
      note(`BREAK-GLASS by ${initiator} instead of an approval: ${breakGlass.reason}`);
      await notify(
        `Break-glass emergency rollback on ${environment}`,
        `${initiator} skipped the data-loss approval: ${breakGlass.reason}\n${why}`,
        'critical',
        { 'Break-glass by': initiator, Reason: breakGlass.reason },
      );
      return;
    }
    const expiresAt = Date.parse(approval.expiresAt);
    if (!isFullyApproved(approval)) {
      const waitStarted = Date.now();
      tracker.start(
        'approval',
        `waiting for one approval (signal approveRollback) from ${policy.approvers.join(', ') || 'nobody: set emergency.approvers'} until ${approval.expiresAt}: ${why}`,
      );
      note(`approval needed: ${why}`);
      await notify(
        `Approval needed: emergency rollback on ${environment}`,
        `${why}\nApprove with \`temporal workflow signal --workflow-id ${workflowId} --name approveRollback --input '{"approver":"<name>"}'\`.`,
        'warning',
        { Approvers: policy.approvers.join(', '), Expires: approval.expiresAt },
      );
      const approved = await condition(
        () => isFullyApproved(approval),
        Math.max(0, expiresAt - Date.now()),
        { summary: 'waiting for the data-loss approval (approveRollback)' },
      );
      approvalWaitMs += Date.now() - waitStarted;
      if (!approved)
        throw refuse(
          `no approval of the data-losing rollback before ${approval.expiresAt}: nothing was changed`,
        );
    }
    const granted = approval.granted[approval.granted.length - 1];
    tracker.complete('approval', `approved by ${granted.approver} at ${granted.at}`);
    gatePassed = true;
  };

  // ── the database and the application, step by step ──
  const takeEmergencyBackup = async () => {
    tracker.start('emergency backup', `pg_dump of ${environment} before anything changes`);
    const backup = await backups.backupDatabase.executeWithOptions(
      { summary: `emergency backup of ${environment}` },
      [{ environment, name: emergencyBackupName, compression: EMERGENCY_BACKUP_COMPRESSION }],
    );
    facts.emergencyBackupId = backup.id;
    tracker.complete(
      'emergency backup',
      `backup ${backup.id} (${backup.sizeBytes} bytes, version ${backup.currentVersion ?? 0})`,
    );
    note(`emergency backup ${backup.id} taken`);
  };

  const announce = async (plannedSteps: string) => {
    tracker.start('notify stakeholders', 'telling stakeholders what will happen');
    await notify(
      `Emergency rollback starting on ${environment}: ${GUIDE_LABEL[type]}`,
      `${initiator} started a ${GUIDE_LABEL[type]} rollback. ${decision.reason}.\n${plannedSteps}`,
      'critical',
      { 'Started by': initiator, Type: GUIDE_LABEL[type], 'Guide time': decision.expectedTime },
    );
    tracker.complete('notify stakeholders', plannedSteps);
    note('stakeholders notified');
  };

  const verifyVersion = async (target: number, how: string) => {
    tracker.start('verify database', `checking ${environment} is at version ${target}`);
    const state = await quick.readMigrationState.executeWithOptions(
      { summary: `verify ${environment} is at version ${target}` },
      [{ environment, plan: plan ?? EMPTY_PLAN }],
    );
    facts.toVersion = state.currentVersion;
    if (state.currentVersion !== target)
      throw stepFailure(
        'RollbackFailed',
        `after ${how}, ${environment} is at version ${state.currentVersion}, not ${target}`,
      );
    tracker.complete('verify database', `ledger at version ${target}`);
    note(`database verified at version ${target}`);
  };

  const revertTo = async (target: number) => {
    tracker.start('revert migrations', `running rollback files down to version ${target}`);
    const run = await long.revertMigrations.executeWithOptions(
      { summary: `roll ${environment} back to ${padVersion(target)} with the rollback files` },
      [
        {
          environment,
          plan: plan!,
          target,
          appliedBy: `${initiator} (emergency rollback ${incidentId})`,
        },
      ],
    );
    changed = true;
    const reverted = run.applied.map((m) => padVersion(m.version)).join(', ');
    tracker.complete(
      'revert migrations',
      `reverted ${reverted || 'nothing'}; now at ${run.toVersion}`,
    );
    note(`rollback files run: ${reverted || 'nothing'} reverted`);
  };

  const restore = async (backupId: string) => {
    tracker.start('restore backup', `restoring backup ${backupId} into ${environment}`);
    const restored = await backups.restoreDatabase.executeWithOptions(
      { summary: `pg_restore ${backupId} into ${environment}` },
      [{ environment, backupId }],
    );
    changed = true;
    facts.restoredBackupId = backupId;
    tracker.complete('restore backup', `backup ${backupId} restored in ${restored.durationMs} ms`);
    note(`backup ${backupId} restored`);
  };

  /**
   * The emergency backup and the restore at once: pg_dump of the live database runs while
   * pg_restore fills a scratch database; the swap waits for the emergency backup, so the
   * backup still holds the state before any change. Both steps keep their own times.
   */
  const restoreDuringEmergencyBackup = async (backupId: string) => {
    tracker.start(
      'emergency backup',
      `pg_dump of ${environment} while backup ${backupId} is restored beside it`,
    );
    tracker.start(
      'restore backup',
      `restoring backup ${backupId} into a scratch database; it replaces ${environment} once the emergency backup is complete`,
    );
    note(
      `emergency backup of ${environment} and restore of backup ${backupId} started together: ${environment} is replaced only after the emergency backup is complete`,
    );
    let done;
    try {
      done = await backups.restoreWithEmergencyBackup.executeWithOptions(
        { summary: `emergency backup of ${environment} while ${backupId} is restored` },
        [{ environment, backupId, emergencyBackupName }],
      );
    } catch (error) {
      const why = firstLine(describeFailure(error).message);
      tracker.fail('emergency backup', why);
      tracker.fail('restore backup', why);
      throw stepFailure(
        'RollbackFailed',
        `emergency backup and restore of ${backupId} failed: ${why} (the restored copy replaces ${environment} only once the emergency backup is complete)`,
      );
    }
    const { emergencyBackup: backup, restore: restored } = done;
    facts.emergencyBackupId = backup.id;
    tracker.completeAt(
      'emergency backup',
      backup.createdAt,
      `backup ${backup.id} (${backup.sizeBytes} bytes, version ${backup.currentVersion ?? 0}) in ${formatSeconds(backup.durationMs)}, during the restore`,
    );
    timeline.push({
      at: backup.createdAt,
      text: `emergency backup ${backup.id} taken in ${formatSeconds(backup.durationMs)}, during the restore`,
    });
    log.info(`emergency backup ${backup.id} taken`, { incidentId });
    changed = true;
    facts.restoredBackupId = backupId;
    tracker.complete(
      'restore backup',
      `backup ${backupId} restored in ${formatSeconds(restored.durationMs)} (pg_restore ${formatSeconds(restored.restoreMs)}, then ${formatSeconds(restored.waitedForBackupMs)} waiting for the emergency backup before the swap)`,
    );
    note(`backup ${backupId} restored and swapped in`);
  };

  /**
   * The restore of a full rollback whose emergency backup is the replaced database itself:
   * renamed at the swap, it holds every write up to that instant; the archive with pg_dump
   * follows in a child workflow once service is back.
   */
  const restoreKeepingReplacedDatabase = async (backupId: string) => {
    tracker.start(
      'emergency backup',
      `${environment} is kept whole at the swap, with every write until then, and archived as backup ${emergencyBackupName} after the rollback`,
    );
    tracker.start(
      'restore backup',
      `restoring backup ${backupId} into a scratch database; it replaces ${environment}, which is kept as the emergency backup`,
    );
    note(
      `restore of backup ${backupId} started: ${environment} keeps serving until the swap, then is kept under another name as the emergency backup`,
    );
    let done;
    try {
      done = await backups.restoreDatabasePreservingLive.executeWithOptions(
        { summary: `pg_restore ${backupId} into ${environment}, keeping the replaced database` },
        [{ environment, backupId, incidentId }],
      );
    } catch (error) {
      const why = firstLine(describeFailure(error).message);
      tracker.fail('emergency backup', `nothing was replaced: ${why}`);
      tracker.fail('restore backup', why);
      throw stepFailure(
        'RollbackFailed',
        `restore of ${backupId} failed: ${why} (${environment} is replaced only by a complete, verified restore)`,
      );
    }
    changed = true;
    facts.restoredBackupId = backupId;
    if (done.preservedDatabase) {
      facts.emergencyBackupId = emergencyBackupName;
      facts.preserved = {
        database: done.preservedDatabase,
        swappedAt: done.swappedAt,
        archiveWorkflowId: archiveWorkflowId(incidentId),
        archiveBackupId: emergencyBackupName,
        keepDatabase: policy?.keepPreservedDatabase ?? false,
      };
      tracker.completeAt(
        'emergency backup',
        done.swappedAt,
        `${environment} kept as database ${done.preservedDatabase} at the swap, with every write until then; archived as backup ${emergencyBackupName} by workflow ${archiveWorkflowId(incidentId)} after the rollback`,
      );
      timeline.push({
        at: done.swappedAt,
        text: `emergency backup: ${environment} kept as database ${done.preservedDatabase} at the swap`,
      });
    } else
      tracker.skip('emergency backup', `database ${environment} did not exist: nothing to keep`);
    tracker.complete(
      'restore backup',
      `backup ${backupId} restored in ${formatSeconds(done.durationMs)} (pg_restore ${formatSeconds(done.restoreMs)}) and swapped in${done.alreadyRestored ? ' (by an earlier attempt)' : ''}`,
    );
    note(`backup ${backupId} restored and swapped in`);
    if (done.propertiesNotCopied?.length)
      note(
        `NEEDS ATTENTION: database settings not carried over to the restored ${environment}: ${done.propertiesNotCopied.join('; ')}`,
      );
  };

  /** Starts the archive of the kept database; it outlives this workflow (abandoned child). */
  const startArchive = async () => {
    const kept = facts.preserved;
    if (!kept) return;
    tracker.start('archive emergency backup', `starting workflow ${kept.archiveWorkflowId}`);
    try {
      await startChild(archivePreservedDatabase, {
        workflowId: kept.archiveWorkflowId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: PgshiftEnvironment, value: environment },
          { key: PgshiftWorkflowKind, value: 'archivePreservedDatabase' },
          { key: PgshiftInitiator, value: initiator },
        ],
        args: [
          {
            environment,
            database: kept.database,
            backupName: kept.archiveBackupId,
            incidentId,
            keepDatabase: kept.keepDatabase,
          },
        ],
      });
      tracker.complete(
        'archive emergency backup',
        `workflow ${kept.archiveWorkflowId} archives database ${kept.database} as backup ${kept.archiveBackupId}${kept.keepDatabase ? ' and keeps the database' : ', then drops the database'}`,
      );
    } catch (error) {
      tracker.fail(
        'archive emergency backup',
        `not started (${firstLine(describeFailure(error).message)}): database ${kept.database} stays as the emergency backup; archive it with pg_dump by hand`,
      );
    }
  };

  const rollBackApplication = async (expected: string | undefined, before: string | null) => {
    tracker.start(
      'roll back application',
      `running the app.rollback hook${expected ? ` (back to ${expected})` : ''}`,
    );
    const outcome = await quick.rollbackApplication.executeWithOptions(
      {
        summary: `roll back the application of ${environment}${expected ? ` to ${expected}` : ''}`,
      },
      [{ environment, ...(expected ? { version: expected } : {}) }],
    );
    if (!outcome.ran)
      throw stepFailure(
        'AppRollbackFailed',
        `${outcome.detail}: set environments.${environment}.app.rollback in pgshift.config.json`,
      );
    changed = true;
    if (!outcome.ok) throw stepFailure('AppRollbackFailed', outcome.detail);
    tracker.complete('roll back application', outcome.detail);
    note(`application rollback hook ran: ${outcome.detail}`);

    tracker.start('verify application', `reading the application version of ${environment}`);
    let after = await readAppVersion();
    if (expected && after !== expected && policy?.app.deployHook) {
      note(
        `application at ${after ?? 'unknown'} after the rollback hook, expected ${expected}: deploying ${expected}`,
      );
      const redeploy = await quick.deployApplication.executeWithOptions(
        { summary: `deploy ${expected} to ${environment} (the version before the last deploy)` },
        [{ environment, version: expected }],
      );
      if (!redeploy.ok) throw stepFailure('AppRollbackFailed', redeploy.detail);
      after = await readAppVersion();
    }
    facts.app = { before, after, ...(expected ? { expected } : {}) };
    if (expected && after !== null && after !== expected)
      throw stepFailure(
        'AppRollbackFailed',
        `application at ${after} after the rollback, expected ${expected}`,
      );
    if (!expected && before !== null && after !== null && after === before)
      throw stepFailure(
        'AppRollbackFailed',
        `application still at ${after} after the rollback hook`,
      );
    tracker.complete(
      'verify application',
      after === null
        ? 'no app.versionUrl configured: hook result trusted'
        : `application at ${after}`,
    );
    note(`application verified at ${after ?? 'unknown version'}`);
  };

  const readAppVersion = () =>
    quick.readApplicationVersion.executeWithOptions(
      { summary: `read the application version of ${environment}` },
      [{ environment }],
    );

  const showPlan = (lines: string[]) => {
    tracker.setPhase('plan', ['**Rollback plan**', ...lines.map((l) => `- ${l}`)].join('\n'));
  };

  const lossLines = (impact: RollbackImpact) =>
    impact.dataLoss.filter((d) => d.exists && (d.rows === null || d.rows > 0)).length;

  // ── the three rollback types ──
  const migrationRollback = async () => {
    tracker.start('assess impact', 'reading the ledger and the rollback files');
    if (!plan)
      throw refuse('a migration rollback needs the rollback files: pass --dir <migrations folder>');
    last = await quick.findLastSuccessfulDeployment({ environment });
    const target = input.migrationTarget ?? last?.fromVersion;
    if (target === undefined)
      throw refuse(
        `no migration target: give --migration-target=N (no successful deploy of ${environment} is recorded to take it from)`,
      );
    const impact = await quick.assessRollbackImpact.executeWithOptions(
      { summary: `assess the impact of rolling ${environment} back to ${padVersion(target)}` },
      [{ environment, plan, target }],
    );
    recordImpact(impact);
    facts.fromVersion = impact.currentVersion;
    if (impact.missingRollbackFiles.length)
      throw refuse(
        `no rollback file in the plan for applied version(s) ${impact.missingRollbackFiles.join(', ')}: pass the right --dir, or use --full-emergency to restore the last deploy's backup`,
      );
    if (impact.currentVersion <= target) {
      tracker.complete(
        'assess impact',
        `${environment} is at version ${impact.currentVersion}, at or below target ${target}: nothing to revert`,
      );
      for (const step of ['approval', 'emergency backup', 'revert migrations', 'verify database'])
        tracker.skip(step, 'nothing to revert');
      facts.toVersion = impact.currentVersion;
      facts.method = 'nothing to revert';
      await announce(
        `Nothing to revert: ${environment} is already at version ${impact.currentVersion}.`,
      );
      return;
    }
    const planLines = [
      `revert ${impact.reverted.map((m) => padVersion(m.version)).join(', ')} with their rollback files (${impact.currentVersion} → ${target})`,
      `${lossLines(impact)} table(s)/column(s) holding data are dropped`,
      'application untouched',
    ];
    tracker.complete('assess impact', planLines.join('; '));
    showPlan(planLines);
    note(`impact assessed: ${planLines.join('; ')}`);
    await gate(impact.losesData, `rolling back to ${target} drops data: ${summariseLoss(impact)}`);
    if (!approvalRequired) tracker.skip('approval', approvalSkipReason);
    await CancellationScope.nonCancellable(async () => {
      await takeEmergencyBackup();
      await announce(planLines.join('; '));
      facts.method = `rollback files ${impact.reverted.map((m) => padVersion(m.version)).join(', ')}`;
      try {
        await revertTo(target);
      } catch (error) {
        const now = await quick
          .readMigrationState({ environment, plan: plan ?? EMPTY_PLAN })
          .catch(() => undefined);
        if (now) facts.toVersion = now.currentVersion;
        throw stepFailure(
          'RollbackFailed',
          `${firstLine(describeFailure(error).message)} — ${environment} is at version ${now?.currentVersion ?? 'unknown'}; emergency backup ${facts.emergencyBackupId} holds the state before the rollback`,
        );
      }
      await verifyVersion(target, `reverting to ${target}`);
    });
  };

  const applicationRollback = async () => {
    tracker.start('assess impact', 'reading the application version and the last deploy');
    if (!policy!.app.rollbackHook)
      throw refuse(
        `no app.rollback hook is configured for ${environment}: set environments.${environment}.app.rollback in pgshift.config.json`,
      );
    last = await quick.findLastSuccessfulDeployment({ environment });
    const before = await readAppVersion();
    const expected =
      last?.appVersionBefore && before !== null && last.appVersionAfter === before
        ? last.appVersionBefore
        : undefined;
    const planLines = [
      `roll the application back from ${before ?? 'unknown'} to ${expected ?? 'its previous version'}`,
      'database untouched',
    ];
    tracker.complete('assess impact', planLines.join('; '));
    showPlan(planLines);
    note(`impact assessed: ${planLines.join('; ')}`);
    await CancellationScope.nonCancellable(async () => {
      await announce(planLines.join('; '));
      await rollBackApplication(expected, before);
    });
  };

  const fullEmergencyRollback = async () => {
    tracker.start(
      'assess impact',
      'finding the last stable state: the state before the last successful deploy',
    );
    last = await quick.findLastSuccessfulDeployment({ environment });
    if (!last)
      throw refuse(
        `no successful deploy of ${environment} is recorded (pgshift.deployments): roll back with --migration-target=N or --app-rollback`,
      );
    const deploy = last;
    note(
      `last successful deploy ${deploy.workflowId}: database ${deploy.fromVersion ?? '?'} → ${deploy.toVersion ?? '?'}, application ${deploy.appVersionBefore ?? '-'} → ${deploy.appVersionAfter ?? '-'}, backup ${deploy.backupId ?? 'none'}`,
    );
    const target = deploy.fromVersion;
    const state = await quick.readMigrationState({ environment, plan: plan ?? EMPTY_PLAN });
    facts.fromVersion = state.currentVersion;
    const dbNeeded = target !== undefined && state.currentVersion > target;
    let impact: RollbackImpact | undefined;
    let useFiles = false;
    if (dbNeeded) {
      impact = await quick.assessRollbackImpact.executeWithOptions(
        { summary: `assess the impact of rolling ${environment} back to ${padVersion(target)}` },
        [{ environment, plan: plan ?? EMPTY_PLAN, target }],
      );
      recordImpact(impact);
      useFiles = !!plan && impact.missingRollbackFiles.length === 0;
      if (!useFiles && !deploy.backupId)
        throw refuse(
          `cannot bring ${environment} back to version ${target}: ${plan ? `no rollback file for ${impact.missingRollbackFiles.join(', ')}` : 'no rollback files (pass --dir)'} and deploy ${deploy.workflowId} recorded no backup`,
        );
      if (deploy.backupId)
        facts.restoreLoss = `${useFiles ? 'if the rollback files fail, ' : ''}restoring backup ${deploy.backupId} (taken when deploy ${deploy.workflowId} began) replaces the whole database: every write since then is lost`;
    }
    const appBefore = await readAppVersion();
    const appExpected = deploy.appVersionBefore;
    const appNeeded = appExpected !== undefined && appBefore !== appExpected;
    if (appNeeded && !policy!.app.rollbackHook && !policy!.app.deployHook)
      throw refuse(
        `the application must go back to ${appExpected} but no app.rollback or app.deploy hook is configured for ${environment}`,
      );
    const planLines = [
      dbNeeded
        ? useFiles
          ? `database ${state.currentVersion} → ${target} with the rollback files of ${impact!.reverted.map((m) => padVersion(m.version)).join(', ')} (backup ${deploy.backupId ?? 'none'} if they fail)`
          : `database ${state.currentVersion} → ${target} by restoring backup ${deploy.backupId} (${plan ? `rollback files missing for ${impact!.missingRollbackFiles.join(', ')}` : 'no rollback files given'})`
        : `database already at version ${state.currentVersion} (target ${target ?? 'unchanged by the deploy'})`,
      appNeeded
        ? `application ${appBefore ?? 'unknown'} → ${appExpected}`
        : `application already at ${appBefore ?? appExpected ?? 'its version'} (unchanged)`,
      ...(impact ? [`${lossLines(impact)} table(s)/column(s) holding data are dropped`] : []),
    ];
    tracker.complete('assess impact', planLines.join('; '));
    showPlan(planLines);
    note(`impact assessed: ${planLines.join('; ')}`);
    if (dbNeeded)
      await gate(
        impact!.losesData || !useFiles,
        useFiles
          ? `rolling back to ${target} drops data: ${summariseLoss(impact!)}`
          : facts.restoreLoss!,
      );
    if (!approvalRequired) tracker.skip('approval', approvalSkipReason);
    await CancellationScope.nonCancellable(async () => {
      // Restoring without trying rollback files first: the replaced database is kept as the
      // emergency backup (older histories: a pg_dump during the restore, or before it).
      const byRestore = dbNeeded && !useFiles;
      const keepReplaced = byRestore && patched(PRESERVED_DATABASE_PATCH);
      const duringRestore =
        byRestore && !keepReplaced && patched(CONCURRENT_EMERGENCY_BACKUP_PATCH);
      if (dbNeeded && !duringRestore && !keepReplaced) await takeEmergencyBackup();
      else if (!dbNeeded) tracker.skip('emergency backup', 'the database is not changed');
      await announce(planLines.join('; '));
      if (dbNeeded) {
        if (useFiles) {
          facts.method = `rollback files ${impact!.reverted.map((m) => padVersion(m.version)).join(', ')}`;
          try {
            await revertTo(target);
          } catch (error) {
            const why = firstLine(describeFailure(error).message);
            tracker.fail('revert migrations', why);
            note(`rollback files failed (${why}): restoring backup ${deploy.backupId}`);
            if (!deploy.backupId) throw error;
            await gate(true, `the rollback files failed (${why}); ${facts.restoreLoss}`);
            facts.method = `rollback files failed (${why}); restored backup ${deploy.backupId}`;
            await restore(deploy.backupId);
          }
        } else {
          tracker.skip('revert migrations', 'restoring the deploy backup instead');
          facts.method = `restored backup ${deploy.backupId}`;
          if (keepReplaced) await restoreKeepingReplacedDatabase(deploy.backupId!);
          else if (duringRestore) await restoreDuringEmergencyBackup(deploy.backupId!);
          else await restore(deploy.backupId!);
        }
        await verifyVersion(target, facts.method);
      } else {
        tracker.skip('revert migrations', 'the database is already at the stable version');
        tracker.skip('verify database', 'the database is not changed');
        facts.toVersion = state.currentVersion;
        facts.method = 'unchanged';
      }
      if (appNeeded) await rollBackApplication(appExpected, appBefore);
      else {
        tracker.skip('roll back application', 'the application is already at the stable version');
        tracker.skip('verify application', 'the application is not changed');
        facts.app = { before: appBefore, after: appBefore };
      }
    });
  };

  const recordImpact = (impact: RollbackImpact) => {
    facts.impact = {
      currentVersion: impact.currentVersion,
      target: impact.target,
      reverted: impact.reverted,
      missingRollbackFiles: impact.missingRollbackFiles,
      dataLoss: impact.dataLoss,
    };
  };

  // ── post-rollback: verify the system, then watch the thresholds ──
  const verifySystem = async () => {
    tracker.start(
      'verify system',
      `SELECT 1, row counts, SQL checks and health checks on ${environment}`,
    );
    const report: VerificationReport = await quick.verifyEnvironment.executeWithOptions(
      { summary: `verify ${environment} after the rollback` },
      [{ environment }],
    );
    facts.verification = {
      ok: report.ok,
      checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail })),
    };
    const summary = report.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}`).join(', ');
    if (!report.ok) {
      tracker.fail('verify system', summary);
      note(`verification FAILED: ${summary}`);
      return false;
    }
    tracker.complete('verify system', summary);
    note(`system verified: ${summary}`);
    return true;
  };

  const watchThresholds = async () => {
    const windowMs = options.watchWindow
      ? parseDuration(options.watchWindow)
      : policy!.rollbackWindowMs;
    const intervalMs = Math.max(
      100,
      options.watchInterval ? parseDuration(options.watchInterval) : policy!.monitoringIntervalMs,
    );
    tracker.start(
      'watch thresholds',
      `watching error rate, response time and connections for ${windowMs / 1000} s`,
    );
    const watch: NonNullable<IncidentFacts['watch']> = {
      windowMs,
      intervalMs,
      samples: 0,
      breaches: [],
    };
    facts.watch = watch;
    const until = Date.now() + windowMs;
    let history: ThresholdHistory = { consecutiveHealthFailures: 0 };
    try {
      for (;;) {
        const sample = await quick.sampleMetrics.executeWithOptions(
          { summary: `sample thresholds of ${environment}` },
          [{ environment }],
        );
        const evaluation = evaluateThresholds(NO_BASELINE, sample, policy!.thresholds, history);
        history = evaluation.history;
        watch.samples++;
        for (const breach of evaluation.breached)
          watch.breaches.push({
            at: sample.at,
            trigger: breach.trigger,
            severity: breach.severity,
            detail: breach.detail,
          });
        if (Date.now() + intervalMs > until) break;
        await sleep(intervalMs, { summary: 'next threshold sample' });
      }
    } catch (error) {
      if (!isCancellation(error)) throw error;
      watch.skipped = `watch cancelled after ${watch.samples} sample(s)`;
      cancelled = error;
    }
    const detail = `${watch.samples} sample(s), ${
      watch.breaches.length
        ? `${watch.breaches.length} breach(es): ${watch.breaches
            .map((b) => b.detail)
            .slice(0, 3)
            .join('; ')}`
        : 'no threshold breached'
    }`;
    if (watch.breaches.length) {
      tracker.fail('watch thresholds', detail);
      note(`threshold watch: ${detail}`);
      await notify(`Thresholds breached after the rollback on ${environment}`, detail, 'critical');
    } else {
      tracker.complete('watch thresholds', detail);
      note(`threshold watch: ${detail}`);
    }
  };

  // ── run ──
  try {
    tracker.complete('decide', `${GUIDE_LABEL[type]}: ${decision.reason}`);
    note(`decision: ${GUIDE_LABEL[type]} (${chosen.source}): ${decision.reason}`);
    if (breakGlass) note(`break-glass declared by ${initiator}: ${breakGlass.reason}`);
    if (type === 'none') {
      tracker.start('notify stakeholders', 'no rollback: fix in place');
      await notify(
        `No rollback on ${environment}: fix in place`,
        `${decision.reason}. ${input.description ?? ''}`.trim(),
        'info',
        { 'Reported by': initiator },
      );
      tracker.complete('notify stakeholders', 'fix in place announced');
      finalState = 'no-action';
      reason = decision.reason;
    } else {
      policy = await quick.loadEmergencyPolicy.executeWithOptions(
        { summary: `load the emergency policy of ${environment}` },
        [{ environment }],
      );
      const approvalTimeoutMs = parseDuration(options.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT);
      registerApprovalHandlers(policy.approvers, startedMs + approvalTimeoutMs);
      if (type === 'migration') await migrationRollback();
      else if (type === 'application') await applicationRollback();
      else await fullEmergencyRollback();
      const ok = await verifySystem();
      if (!ok) {
        finalState = 'failed';
        reason = `rolled back, but verification failed: ${facts
          .verification!.checks.filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; ')}`;
        tracker.skip('watch thresholds', 'verification failed');
      } else await watchThresholds();
      if (facts.watch?.breaches.length && finalState === 'completed')
        reason = `rolled back; NEEDS ATTENTION: ${facts.watch.breaches.length} threshold breach(es) while watching`;
    }
  } catch (error) {
    const described = describeFailure(error);
    if (isCancellation(error)) cancelled = error;
    finalState = described.type === REFUSED || (cancelled && !changed) ? 'refused' : 'failed';
    reason = cancelled && !changed ? 'cancelled before anything was changed' : described.message;
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    note(`${finalState}: ${reason}`);
  }

  return CancellationScope.nonCancellable(async () => {
    for (const step of tracker.progress.steps)
      if (
        step.status === 'pending' &&
        !['record', 'incident document', 'post-mortem'].includes(step.name)
      )
        tracker.skip(
          step.name,
          finalState === 'completed' ? 'not needed' : `not reached (${finalState})`,
        );
    const executed = type !== 'none' && finalState !== 'refused';
    if (executed) {
      tracker.start('record', `recording the rollback in ${environment}'s pgshift.deployments`);
      try {
        await recordOutcome(last, changed);
        tracker.complete(
          'record',
          `rollback ${incidentId} recorded${last && changed && type === 'full-emergency' ? `; deploy ${last.workflowId} marked rolled-back` : ''}`,
        );
      } catch (error) {
        tracker.fail('record', describeFailure(error).message);
      }
    } else if (tracker.progress.steps.some((s) => s.name === 'record'))
      tracker.skip('record', 'nothing changed');

    const dueMs = executed && policy ? Date.now() + policy.postMortemDueInMs : undefined;
    const postMortemDue = dueMs !== undefined ? new Date(dueMs).toISOString() : undefined;
    tracker.start('incident document', 'writing the incident document');
    const endedMs = Date.now();
    const incidentFacts: IncidentFacts = {
      incidentId,
      workflowId,
      environment,
      initiator,
      type,
      finalState,
      ...(reason ? { reason } : {}),
      decision,
      decisionSource: chosen.source,
      ...(input.issue ? { issue: input.issue } : {}),
      ...(input.severity ? { severity: input.severity } : {}),
      ...(input.description ? { description: input.description } : {}),
      startedAt: new Date(startedMs).toISOString(),
      endedAt: new Date(endedMs).toISOString(),
      durationMs: endedMs - startedMs,
      approvalWaitMs,
      timeline,
      steps: tracker.progress.steps,
      ...facts,
      approval,
      approvalRequired,
      ...(breakGlass ? { breakGlass } : {}),
      ...(postMortemDue ? { postMortemDue } : {}),
    };
    const markdown = incidentMarkdown(incidentFacts);
    const timing = compareWithGuide(
      Math.max(0, endedMs - startedMs - approvalWaitMs),
      type,
      decision.expectedTime,
    );
    const result: EmergencyRollbackResult = {
      finalState,
      environment,
      type,
      decision,
      ...(reason ? { reason } : {}),
      steps: tracker.progress.steps,
      ...(facts.fromVersion !== undefined ? { fromVersion: facts.fromVersion } : {}),
      ...(facts.toVersion !== undefined ? { toVersion: facts.toVersion } : {}),
      ...(breakGlass ? { breakGlass: { reason: breakGlass.reason, by: breakGlass.by } } : {}),
      durationMs: endedMs - startedMs,
      incidentId,
      timing,
      approval,
      approvalRequired,
      ...(facts.impact ? { impact: facts.impact } : {}),
      ...(facts.method ? { method: facts.method } : {}),
      ...(facts.emergencyBackupId ? { emergencyBackupId: facts.emergencyBackupId } : {}),
      ...(facts.restoredBackupId ? { restoredBackupId: facts.restoredBackupId } : {}),
      ...(facts.app ? { app: facts.app } : {}),
      ...(facts.verification ? { verification: facts.verification } : {}),
      ...(facts.watch ? { watch: facts.watch } : {}),
      ...(postMortemDue ? { postMortemDue } : {}),
    };
    try {
      const report = await quick.writeReport.executeWithOptions(
        { summary: `write incident document ${incidentId}` },
        [{ workflowId: incidentId, kind: 'incident', markdown, data: result }],
      );
      result.incidentPath = report.path;
      tracker.complete('incident document', report.path);
    } catch (error) {
      tracker.fail('incident document', describeFailure(error).message);
    }

    if (postMortemDue) {
      tracker.start('post-mortem', `scheduling the post-mortem, due ${postMortemDue}`);
      await notify(
        `Post-mortem due ${postMortemDue.slice(0, 16).replace('T', ' ')}Z: emergency rollback on ${environment}`,
        `${GUIDE_LABEL[type]} rollback ${finalState}${reason ? `: ${reason}` : ''}. ${timing}.`,
        'info',
        {
          Due: postMortemDue,
          ...(result.incidentPath ? { 'Incident document': result.incidentPath } : {}),
        },
      ).catch(() => undefined);
      tracker.complete('post-mortem', `due ${postMortemDue}`);
    } else if (tracker.progress.steps.some((s) => s.name === 'post-mortem'))
      tracker.skip('post-mortem', 'nothing was rolled back');

    if (type !== 'none')
      await notify(
        `Emergency rollback ${finalState} on ${environment}`,
        `${GUIDE_LABEL[type]}: ${reason ?? 'completed'}. ${timing}.`,
        finalState === 'completed' && !facts.watch?.breaches.length ? 'success' : 'critical',
        result.incidentPath ? { 'Incident document': result.incidentPath } : {},
      ).catch(() => undefined);
    await startArchive();
    if (facts.preserved) {
      result.preservedDatabase = facts.preserved.database;
      result.archiveWorkflowId = facts.preserved.archiveWorkflowId;
    }
    // the document once more, now that every step (post-mortem included) has ended
    result.incidentMarkdown = incidentMarkdown({ ...incidentFacts, steps: tracker.progress.steps });
    if (result.incidentPath)
      await quick.writeReport
        .executeWithOptions({ summary: `complete incident document ${incidentId}` }, [
          {
            workflowId: incidentId,
            kind: 'incident',
            markdown: result.incidentMarkdown,
            data: result,
          },
        ])
        .catch(() => undefined);
    result.steps = tracker.progress.steps;
    tracker.finish(
      finalState,
      `${GUIDE_LABEL[type]} ${finalState}${reason ? `: ${reason}` : ''} — ${timing}`,
    );
    if (cancelled) throw cancelled;
    return result;
  });

  async function recordOutcome(deploy: DeploymentRecord | null, didChange: boolean) {
    await quick.recordDeployment.executeWithOptions({ summary: `record rollback ${incidentId}` }, [
      {
        environment,
        record: {
          workflowId: incidentId,
          kind: 'rollback',
          ...(facts.fromVersion !== undefined ? { fromVersion: facts.fromVersion } : {}),
          ...(facts.toVersion !== undefined ? { toVersion: facts.toVersion } : {}),
          ...(facts.emergencyBackupId ? { backupId: facts.emergencyBackupId } : {}),
          ...(facts.app?.before ? { appVersionBefore: facts.app.before } : {}),
          ...(facts.app?.after ? { appVersionAfter: facts.app.after } : {}),
          status: finalState,
          reason: `${GUIDE_LABEL[type]} by ${initiator}${reason ? `: ${reason}` : ''}`,
        },
      },
    ]);
    if (type === 'full-emergency' && deploy && didChange && finalState === 'completed')
      await quick.recordDeployment.executeWithOptions(
        { summary: `mark deploy ${deploy.workflowId} rolled back` },
        [
          {
            environment,
            record: {
              ...deploy,
              status: 'rolled-back',
              reason: `rolled back by emergency rollback ${incidentId}`,
            },
          },
        ],
      );
  }
}

function summariseLoss(impact: RollbackImpact): string {
  const lost = impact.dataLoss.filter((d) => d.exists && (d.rows === null || d.rows > 0));
  return lost
    .map(
      (d) =>
        `${d.table}${d.column ? `.${d.column}` : ''} (${d.rows ?? '?'} ${d.column ? 'values' : 'rows'})`,
    )
    .join(', ');
}

/** `--status-only`: migration state, application version, latest backups, recent deploys. Changes nothing. */
async function readStatusOnly(
  tracker: ProgressTracker,
  environment: string,
  plan: MigrationPlan | undefined,
  startedMs: number,
): Promise<EmergencyRollbackResult> {
  tracker.start('read status', `reading the state of ${environment}`);
  const [migration, appVersion, latestBackups, deployments, lastDeploy] = await Promise.all([
    quick.readMigrationState.executeWithOptions(
      { summary: `read migration state of ${environment}` },
      [{ environment, plan: plan ?? EMPTY_PLAN }],
    ),
    quick.readApplicationVersion.executeWithOptions(
      { summary: `read application version of ${environment}` },
      [{ environment }],
    ),
    quick.listEnvironmentBackups.executeWithOptions(
      { summary: `list latest backups of ${environment}` },
      [{ environment, limit: 5 }],
    ),
    quick.listDeployments.executeWithOptions({ summary: `list recent deploys of ${environment}` }, [
      { environment, limit: 10 },
    ]),
    quick.findLastSuccessfulDeployment.executeWithOptions(
      { summary: `find the last successful deploy of ${environment}` },
      [{ environment }],
    ),
  ]);
  const detail = `version ${migration.currentVersion}, application ${appVersion ?? 'unknown'}, ${latestBackups.length} backup(s), ${deployments.length} recorded deploy(s)/rollback(s)`;
  tracker.complete('read status', detail);
  tracker.finish('completed', `status of ${environment}: ${detail}`);
  return {
    finalState: 'completed',
    environment,
    type: 'status-only',
    steps: tracker.progress.steps,
    durationMs: Date.now() - startedMs,
    status: {
      migration: {
        currentVersion: migration.currentVersion,
        appliedCount: migration.appliedCount,
        ...(plan
          ? {
              pending: migration.pending,
              drift: migration.drift,
              missingFiles: migration.missingFiles,
            }
          : {}),
      },
      appVersion,
      backups: latestBackups,
      deployments,
      lastSuccessfulDeploy: lastDeploy,
    },
  };
}
