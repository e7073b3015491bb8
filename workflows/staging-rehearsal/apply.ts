import { planArgument } from '../../src/migrations/plan-ref';
import { formatBytes } from '../../src/format';
import { backups, long, quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { failedChecks, padVersion, summariseChecks, validationFailure } from '../text';
import { rehearsalTargets } from './rollbacks';
import type { RehearsalRun } from './run';
import { readStateWithoutDrift } from '../steps/migration-state';

/** Validate the plan and read where staging is: no drift, and the rehearsal's settings. */
export async function validateRehearsal(run: RehearsalRun): Promise<void> {
  const { environment, plan, tracker } = run;
  tracker.start(
    'validate',
    `validating ${plan.migrations.length} migrations (structure, dependencies, safety)`,
  );
  const validation = await long.validatePlan.executeWithOptions(
    { summary: `validate ${plan.migrations.length} migrations, plan ${run.shortPlan}` },
    [{ plan: planArgument(plan) }],
  );
  if (validation.errors.length) throw validationFailure(validation.errors);
  run.securityOk = true;
  const state = await readStateWithoutDrift(environment, plan);
  run.fromVersion = state.currentVersion;
  const policy = await quick.loadEnvironmentPolicy.executeWithOptions(
    { summary: `read the rehearsal settings of ${environment}` },
    [{ environment }],
  );
  run.rollbackDepth = run.options.rollbackDepth ?? policy.rehearsalRollbackDepth;
  tracker.complete(
    'validate',
    `${validation.migrations} migrations valid, ${validation.warningCount} warning(s); ${environment} at version ${run.fromVersion}, ${state.pending.length} pending`,
  );
}

/** The backup, the row counts and the schema before anything changes; returns the row counts. */
export async function backupStaging(run: RehearsalRun) {
  const { environment, workflowId, tracker, fromVersion } = run;
  tracker.start('backup', `pg_dump of ${environment} before anything changes`);
  const backup = await backups.backupDatabase.executeWithOptions(
    { summary: `pg_dump ${environment} (before rehearsal)` },
    [{ environment, name: `${workflowId}-before` }],
  );
  run.backup = backup;
  const rowCounts = await quick.captureRowCounts.executeWithOptions(
    { summary: `count rows of critical tables in ${environment}` },
    [{ environment }],
  );
  await snapshotSchema(run, fromVersion);
  tracker.complete(
    'backup',
    `backup ${backup.id} (${formatBytes(backup.sizeBytes)}, sha256 ${backup.sha256.slice(0, 12)})`,
  );
  return rowCounts;
}

/** Apply the plan, stopping at each rehearsal target to snapshot it; returns the targets. */
export async function migrateStaging(run: RehearsalRun): Promise<number[]> {
  const { environment, plan, tracker, top, fromVersion } = run;
  const targets = rehearsalTargets(
    top,
    fromVersion,
    run.rollbackDepth,
    run.options.rollbackTargets,
  );
  tracker.start('migrate', `applying migrations ${fromVersion + 1}..${top} to ${environment}`);
  const stops = [...targets.filter((t) => t > fromVersion).sort((a, b) => a - b), top];
  let applied = 0;
  for (const stop of stops) {
    if (stop > fromVersion) {
      const migrated = await long.applyMigrations.executeWithOptions(
        { summary: `apply migrations up to ${padVersion(stop)} on ${environment}` },
        [{ environment, plan: planArgument(plan), to: stop, appliedBy: run.appliedBy }],
      );
      applied += migrated.appliedCount ?? migrated.applied.length;
    }
    await snapshotSchema(run, stop);
  }
  tracker.complete('migrate', `${applied} migration(s) applied; ${environment} at version ${top}`);
  run.judge(
    'All migrations applied successfully',
    'passed',
    `${applied} applied, now at version ${top}`,
  );
  return targets;
}

/** Post-migration checks (no HTTP: the application is not deployed on a rehearsal). */
export async function verifyStaging(
  run: RehearsalRun,
  rowCounts: Awaited<ReturnType<typeof backupStaging>>,
): Promise<void> {
  const { environment, tracker } = run;
  tracker.start('verify', `post-migration checks on ${environment}`);
  const verification = await quick.verifyEnvironment.executeWithOptions(
    { summary: `verify ${environment}: SELECT 1, row counts, SQL checks` },
    [{ environment, baselineRowCounts: rowCounts, skipHttp: true }],
  );
  if (!verification.ok)
    throw stepFailure('VerificationFailed', `verification failed: ${failedChecks(verification)}`);
  tracker.complete('verify', summariseChecks(verification.checks));
}

/** Health checks and SQL checks against staging: the guide's functional criteria. */
export async function checkFunctions(
  run: RehearsalRun,
  rowCounts: Awaited<ReturnType<typeof backupStaging>>,
): Promise<void> {
  const { environment, tracker } = run;
  if (run.options.skipFunctionalChecks) {
    tracker.skip('functional checks', 'skipped on request (--skip-functional-checks)');
    return;
  }
  tracker.start('functional checks', `health checks and SQL checks against ${environment}`);
  const functional = await quick.verifyEnvironment.executeWithOptions(
    { summary: `functional checks on ${environment}` },
    [{ environment, baselineRowCounts: rowCounts }],
  );
  run.criteria.judgeFunctional(functional);
  if (!functional.ok)
    throw stepFailure(
      'FunctionalChecksFailed',
      `functional checks failed: ${failedChecks(functional)}`,
    );
  tracker.complete('functional checks', summariseChecks(functional.checks));
}

/** The schema snapshot of staging at `version`, the reference its rollbacks are compared with. */
function snapshotSchema(run: RehearsalRun, version: number): Promise<unknown> {
  return quick.captureSchema.executeWithOptions(
    { summary: `snapshot schema of ${run.environment} at version ${version}` },
    [{ environment: run.environment, workflowId: run.workflowId, label: `v${version}` }],
  );
}
