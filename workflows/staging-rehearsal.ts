import { planArgument } from '../src/migrations/plan-ref';
import {
  CancellationScope,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import {
  stagingRehearsalInputSchema,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from './definitions';
import { backups, long, quick } from './activity-proxies';
import { returnToVersion } from './steps/return-to-version';
import { RehearsalCriteria } from './rehearsal-criteria';
import { formatBytes } from '../src/format';
import { showDetails } from './deploy-monitoring';
import { describeFailure, stepFailure } from './failures';
import { ENVIRONMENT_LEASE_PATCH } from './lease/definitions';
import { EnvironmentLease } from './lease/lease-client';
import { ProgressTracker } from './progress-tracker';
import { rehearsalReportMarkdown } from './rehearsal-report';
import type { BackupSummary } from '../activities/backup';
import type { PlanRef } from '../src/migrations/types';
import {
  failedChecks,
  padVersion,
  parseWorkflowInput,
  summariseChecks,
  validationFailure,
} from './text';

const STEPS = [
  'validate',
  'backup',
  'migrate',
  'verify',
  'rollback rehearsal',
  'rollback tests',
  'functional checks',
  'report',
];

/** The rollback files that run when going from version `from` down to `to`, newest first. */
function rollbackFilesBetween(plan: PlanRef, to: number, from: number): string {
  const files = plan.migrations
    .filter((m) => m.version > to && m.version <= from)
    .sort((a, b) => b.version - a.version)
    .map((m) => m.rollback.file);
  return files.length > 0 ? files.join(' + ') : `rolling back to ${to}`;
}

/** Versions the rehearsal rolls back to: newest first, below `top`, never negative. */
export function rehearsalTargets(
  top: number,
  fromVersion: number,
  depth: number,
  explicit?: number[],
): number[] {
  const wanted = explicit ?? [...Array.from({ length: depth }, (_, i) => top - 1 - i), fromVersion];
  return [...new Set(wanted.filter((t) => t >= 0 && t < top))].sort((a, b) => b - a);
}

/**
 * The guide's "Enhanced Staging Rehearsal": validate → backup → migrate → verify →
 * rollback rehearsal → rollback tests → functional checks → report. Any failure after the
 * backup brings staging back to exactly the state it had before (rollback files, else the
 * backup), then the run ends with a failed report.
 */
export async function stagingRehearsal(
  rawInput: StagingRehearsalInput,
): Promise<StagingRehearsalResult> {
  const { environment, plan, initiator, options } = parseWorkflowInput(
    stagingRehearsalInputSchema,
    rawInput,
    'rehearsal',
  );
  const workflowId = workflowInfo().workflowId;
  const tracker = new ProgressTracker('stagingRehearsal', environment, STEPS);
  const top = Math.max(0, ...plan.migrations.map((m) => m.version));
  const criteria = new RehearsalCriteria();
  const judge = criteria.judge.bind(criteria);
  // The environment lease, held around the whole body, compensation included.
  const lease = new EnvironmentLease(environment, {
    onWaiting: (details) => showDetails(tracker, details),
  });

  let backup: BackupSummary | undefined;
  let fromVersion = 0;
  let failure: string | undefined;
  let cancelled: unknown;
  let compensation: string | undefined;
  let securityOk = false;
  let rollbackDepth = 2;

  try {
    if (patched(ENVIRONMENT_LEASE_PATCH))
      await lease.acquire({
        kind: 'stagingRehearsal',
        initiator,
        purpose: `rehearse plan ${plan.checksum.slice(0, 12)} (migrations up to ${top})`,
      });

    // ── validate ──
    tracker.start(
      'validate',
      `validating ${plan.migrations.length} migrations (structure, dependencies, safety)`,
    );
    const validation = await long.validatePlan.executeWithOptions(
      {
        summary: `validate ${plan.migrations.length} migrations, plan ${plan.checksum.slice(0, 12)}`,
      },
      [{ plan: planArgument(plan) }],
    );
    if (validation.errors.length) throw validationFailure(validation.errors);
    securityOk = true;
    const state = await quick.readMigrationState.executeWithOptions(
      { summary: `read migration state of ${environment}` },
      [{ environment, plan: planArgument(plan) }],
    );
    if (state.drift.length)
      throw stepFailure('DriftError', `${environment} has drifted: ${state.drift.join('; ')}`);
    fromVersion = state.currentVersion;
    const policy = await quick.loadEnvironmentPolicy.executeWithOptions(
      { summary: `read the rehearsal settings of ${environment}` },
      [{ environment }],
    );
    rollbackDepth = options.rollbackDepth ?? policy.rehearsalRollbackDepth;
    tracker.complete(
      'validate',
      `${validation.migrations} migrations valid, ${validation.warningCount} warning(s); ${environment} at version ${fromVersion}, ${state.pending.length} pending`,
    );

    // ── backup ──
    tracker.start('backup', `pg_dump of ${environment} before anything changes`);
    backup = await backups.backupDatabase.executeWithOptions(
      { summary: `pg_dump ${environment} (before rehearsal)` },
      [{ environment, name: `${workflowId}-before` }],
    );
    const rowCounts = await quick.captureRowCounts.executeWithOptions(
      { summary: `count rows of critical tables in ${environment}` },
      [{ environment }],
    );
    await quick.captureSchema.executeWithOptions(
      { summary: `snapshot schema of ${environment} at version ${fromVersion}` },
      [{ environment, workflowId, label: `v${fromVersion}` }],
    );
    tracker.complete(
      'backup',
      `backup ${backup.id} (${formatBytes(backup.sizeBytes)}, sha256 ${backup.sha256.slice(0, 12)})`,
    );

    // ── migrate, stopping at each rehearsal target to snapshot it ──
    const targets = rehearsalTargets(top, fromVersion, rollbackDepth, options.rollbackTargets);
    tracker.start('migrate', `applying migrations ${fromVersion + 1}..${top} to ${environment}`);
    const stops = [...targets.filter((t) => t > fromVersion).sort((a, b) => a - b), top];
    let applied = 0;
    for (const stop of stops) {
      if (stop > fromVersion) {
        const run = await long.applyMigrations.executeWithOptions(
          { summary: `apply migrations up to ${padVersion(stop)} on ${environment}` },
          [
            {
              environment,
              plan: planArgument(plan),
              to: stop,
              appliedBy: `${initiator} (rehearsal ${workflowId})`,
            },
          ],
        );
        applied += run.appliedCount ?? run.applied.length;
      }
      await quick.captureSchema.executeWithOptions(
        { summary: `snapshot schema of ${environment} at version ${stop}` },
        [{ environment, workflowId, label: `v${stop}` }],
      );
    }
    tracker.complete(
      'migrate',
      `${applied} migration(s) applied; ${environment} at version ${top}`,
    );
    judge(
      'All migrations applied successfully',
      'passed',
      `${applied} applied, now at version ${top}`,
    );

    // ── verify ──
    tracker.start('verify', `post-migration checks on ${environment}`);
    const verification = await quick.verifyEnvironment.executeWithOptions(
      { summary: `verify ${environment}: SELECT 1, row counts, SQL checks` },
      [{ environment, baselineRowCounts: rowCounts, skipHttp: true }],
    );
    if (!verification.ok)
      throw stepFailure('VerificationFailed', `verification failed: ${failedChecks(verification)}`);
    tracker.complete('verify', summariseChecks(verification.checks));

    // ── rollback rehearsal on staging itself ──
    tracker.start(
      'rollback rehearsal',
      `rolling back to ${targets.join(', ') || 'nothing'} and re-applying`,
    );
    const visited = await rehearseRollbacks(
      tracker,
      { environment, plan, initiator, workflowId },
      targets,
      fromVersion,
    );
    await long.applyMigrations.executeWithOptions(
      { summary: `re-apply migrations up to ${padVersion(top)} on ${environment}` },
      [
        {
          environment,
          plan: planArgument(plan),
          to: top,
          appliedBy: `${initiator} (rehearsal ${workflowId})`,
        },
      ],
    );
    const reapplied = await quick.compareSchema.executeWithOptions(
      { summary: `compare schema of ${environment} with version ${top}` },
      [{ environment, workflowId, label: `v${top}` }],
    );
    if (!reapplied.matches)
      throw stepFailure(
        'RollbackIntegrityError',
        `re-applying after the rollback rehearsal did not give the same schema: ${reapplied.differences.slice(0, 5).join('; ')}`,
      );
    tracker.complete(
      'rollback rehearsal',
      `rolled back to ${visited.join(', ') || 'no target'}, re-applied to ${top}`,
    );

    // ── rollback tests in scratch databases ──
    tracker.start('rollback tests', `testing every rollback file in a scratch database`);
    const tests = await long.runRollbackTests.executeWithOptions(
      { summary: `test ${plan.migrations.length} rollbacks in a scratch database` },
      [{ environment, plan: planArgument(plan) }],
    );
    if (!tests.passed)
      throw stepFailure(
        'RollbackIntegrityError',
        `rollback tests failed: ${tests.failures.slice(0, 5).join('; ')}`,
      );
    tracker.complete(
      'rollback tests',
      `${tests.tested} rollbacks restore the schema exactly (${tests.durationMs} ms)`,
    );
    judge(
      'Rollback procedures tested and verified',
      'passed',
      `staging rolled back to ${visited.join(', ') || 'no target'} and re-applied; ${tests.tested} rollback files tested`,
    );

    // ── functional checks ──
    if (options.skipFunctionalChecks) {
      tracker.skip('functional checks', 'skipped on request (--skip-functional-checks)');
    } else {
      tracker.start('functional checks', `health checks and SQL checks against ${environment}`);
      const functional = await quick.verifyEnvironment.executeWithOptions(
        { summary: `functional checks on ${environment}` },
        [{ environment, baselineRowCounts: rowCounts }],
      );
      criteria.judgeFunctional(functional);
      if (!functional.ok)
        throw stepFailure(
          'FunctionalChecksFailed',
          `functional checks failed: ${failedChecks(functional)}`,
        );
      tracker.complete('functional checks', summariseChecks(functional.checks));
    }
  } catch (error) {
    if (isCancellation(error)) cancelled = error;
    const described = describeFailure(error);
    failure = `${described.type}: ${described.message}`;
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    log.warn('rehearsal failed', { workflowId, failure });
    if (backup) {
      const taken = backup;
      compensation = await CancellationScope.nonCancellable(() =>
        restoreStaging(tracker, environment, plan, workflowId, fromVersion, taken),
      );
    }
  }

  // ── certificate and report ──
  const passed = failure === undefined;
  judge(
    'Security measures active',
    securityOk ? 'passed' : 'failed',
    securityOk
      ? 'safety validation found no secrets and no unsafe statements'
      : 'validation did not pass (see failure)',
  );
  criteria.settleRest(passed, failure);
  // The lease goes after compensation and the certificate: the next holder finds both.
  return CancellationScope.nonCancellable(async () => {
    tracker.start('report', 'writing the rehearsal report');
    const certificate = passed
      ? await quick.recordRehearsalCertificate.executeWithOptions(
          { summary: `record rehearsal certificate for plan ${plan.checksum.slice(0, 12)}` },
          [{ environment, planChecksum: plan.checksum, workflowId, toVersion: top }],
        )
      : undefined;
    const result: StagingRehearsalResult = {
      finalState: passed ? 'passed' : 'failed',
      environment,
      planChecksum: plan.checksum,
      criteria: criteria.list(),
      steps: tracker.progress.steps,
      ...(certificate
        ? {
            certificate: {
              environment,
              planChecksum: plan.checksum,
              workflowId,
              at: certificate.passedAt,
            },
          }
        : {}),
      ...(failure ? { failure } : {}),
      ...(compensation ? { compensation } : {}),
      ...(backup ? { backupId: backup.id } : {}),
      fromVersion,
      toVersion: passed ? top : fromVersion,
    };
    const report = await quick.writeReport.executeWithOptions(
      { summary: 'write rehearsal report' },
      [
        {
          workflowId,
          kind: 'rehearsal',
          markdown: rehearsalReportMarkdown(workflowId, initiator, result),
          data: result,
        },
      ],
    );
    tracker.complete('report', report.path);
    result.reportPath = report.path;
    result.steps = tracker.progress.steps;
    tracker.finish(
      result.finalState,
      passed
        ? `rehearsal passed: ${environment} at version ${top}, certificate recorded for plan ${plan.checksum.slice(0, 12)}`
        : `rehearsal failed: ${failure}. ${compensation ?? `${environment} unchanged`}`,
    );
    if (cancelled) throw cancelled;
    return result;
  }).finally(() => lease.release());
}

/**
 * Rolls staging back to each target, newest first, proving each one: the version, and the
 * schema snapshot taken on the way up when the target is at or above where the run started.
 */
async function rehearseRollbacks(
  tracker: ProgressTracker,
  run: { environment: string; plan: PlanRef; initiator: string; workflowId: string },
  targets: number[],
  fromVersion: number,
): Promise<string[]> {
  const { environment, plan, initiator, workflowId } = run;
  const visited: string[] = [];
  let level = Math.max(0, ...plan.migrations.map((m) => m.version));
  for (const target of targets) {
    const reverted = rollbackFilesBetween(plan, target, level);
    level = target;
    tracker.setPhase('rollback rehearsal', `rolling ${environment} back to version ${target}`);
    await long.revertMigrations.executeWithOptions(
      { summary: `roll back ${environment} to ${padVersion(target)}` },
      [
        {
          environment,
          plan: planArgument(plan),
          target,
          appliedBy: `${initiator} (rehearsal ${workflowId})`,
        },
      ],
    );
    const now = await quick.readMigrationState.executeWithOptions(
      { summary: `check ${environment} is at version ${target}` },
      [{ environment, plan: planArgument(plan) }],
    );
    if (now.currentVersion !== target)
      throw stepFailure(
        'RollbackFailed',
        `after rolling back to ${target}, ${environment} is at ${now.currentVersion}`,
      );
    if (target >= fromVersion) {
      const same = await quick.compareSchema.executeWithOptions(
        { summary: `compare schema of ${environment} with version ${target}` },
        [{ environment, workflowId, label: `v${target}` }],
      );
      if (!same.matches)
        throw stepFailure(
          'RollbackIntegrityError',
          `${reverted} did not restore: ${same.differences.slice(0, 5).join('; ')} (rolling back to ${target})`,
        );
      visited.push(`${target} (schema identical)`);
    } else visited.push(`${target} (version verified)`);
  }
  return visited;
}

/**
 * Compensation: bring staging back to `fromVersion` with the rollback files; if that
 * fails, restore the backup. Then prove it: the schema snapshot (files) or the version (backup).
 */
async function restoreStaging(
  tracker: ProgressTracker,
  environment: string,
  plan: PlanRef,
  workflowId: string,
  fromVersion: number,
  backup: BackupSummary,
): Promise<string> {
  tracker.setPhase('compensating', `bringing ${environment} back to version ${fromVersion}`);
  const outcome = await returnToVersion({
    environment,
    plan,
    version: fromVersion,
    appliedBy: `compensation of ${workflowId}`,
    label: 'compensate: ',
    backupId: backup.id,
    eitherDirection: true,
    schemaSnapshot: { workflowId, label: `v${fromVersion}` },
    hooks: {
      filesFailed: (reason) =>
        tracker.setPhase(
          'compensating',
          `rollback files failed (${reason}); restoring backup ${backup.id}`,
        ),
    },
  });
  const how = !outcome.ok
    ? `NEEDS ATTENTION: rollback files failed (${outcome.filesError}) and restoring backup ${backup.id} failed (${outcome.restoreError})`
    : outcome.by === 'files'
      ? `rolled back to version ${fromVersion} with the rollback files; schema identical to before`
      : `rollback files failed (${outcome.filesError}); restored backup ${backup.id}, ${environment} at version ${fromVersion}`;
  for (const step of tracker.progress.steps)
    if (
      step.status === 'completed' &&
      ['migrate', 'verify', 'rollback rehearsal', 'rollback tests'].includes(step.name)
    )
      tracker.compensated(step.name, how);
  return how;
}
