import { workflowInfo } from '@temporalio/workflow';
import { appHooks, quick } from './activity-proxies';
import { TRIGGER_LABELS, type DeployFacts } from './deploy-run';
import { describeFailure } from './failures';
import type { ProgressTracker } from './progress-tracker';
import { returnToVersion } from './steps/return-to-version';

/**
 * The saga's undo of a production deploy, in reverse order of what was done:
 * 1. the database back to `fromVersion` with the rollback files; if a revert fails, restore
 *    the backup this run took;
 * 2. the application back to the version it had, when this run deployed it;
 * 3. verify the environment after undoing.
 * Call it inside `CancellationScope.nonCancellable`. It runs at most once per run (the result
 * is kept in `run.compensation`); `ok: false` means a person must look (failed-needs-attention).
 */
export async function compensateDeploy(
  run: DeployFacts,
  tracker: ProgressTracker,
): Promise<{ ok: boolean; detail: string }> {
  if (run.compensation) return run.compensation;
  const why = run.trigger ? TRIGGER_LABELS[run.trigger.kind] : 'failure';
  const { environment } = run;
  tracker.start('compensate', `undoing the deploy of ${environment} after: ${why}`);
  const done: string[] = [];
  const problems: string[] = [];

  if (run.migrationsTouched) {
    tracker.setPhase('compensating', `rolling ${environment} back to version ${run.fromVersion}`);
    const outcome = await restoreDatabaseVersion(run);
    (outcome.ok ? done : problems).push(outcome.detail);
  }

  if (run.appDeployed) {
    tracker.setPhase(
      'compensating',
      `rolling the application back to ${run.appVersionBefore ?? 'its previous version'}`,
    );
    try {
      const rolledBack = await appHooks.rollbackApplication.executeWithOptions(
        {
          summary: `compensate: roll the application of ${environment} back to ${run.appVersionBefore ?? 'its previous version'}`,
        },
        [{ environment, ...(run.appVersionBefore ? { version: run.appVersionBefore } : {}) }],
      );
      if (!rolledBack.ok) problems.push(`application rollback failed: ${rolledBack.detail}`);
      else if (
        run.appVersionBefore &&
        rolledBack.versionAfter &&
        rolledBack.versionAfter !== run.appVersionBefore
      )
        problems.push(
          `application rollback left version ${rolledBack.versionAfter}, expected ${run.appVersionBefore}`,
        );
      else
        done.push(
          `application rolled back to ${rolledBack.versionAfter ?? run.appVersionBefore ?? 'its previous version'}`,
        );
    } catch (error) {
      problems.push(`application rollback failed: ${describeFailure(error).message}`);
    }
  }

  tracker.setPhase('compensating', `verifying ${environment} after undoing the deploy`);
  try {
    const verification = await quick.verifyEnvironment.executeWithOptions(
      { summary: `compensate: verify ${environment} after undoing` },
      [
        {
          environment,
          ...(run.baselineRowCounts ? { baselineRowCounts: run.baselineRowCounts } : {}),
        },
      ],
    );
    const failed = verification.checks.filter((c) => !c.ok);
    if (failed.length)
      problems.push(
        `verification after undoing failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join('; ')}`,
      );
    else done.push(`verified after undoing (${verification.checks.map((c) => c.name).join(', ')})`);
  } catch (error) {
    problems.push(`verification after undoing failed: ${describeFailure(error).message}`);
  }

  const ok = problems.length === 0;
  const detail = ok
    ? done.join('; ') || 'nothing had changed'
    : `NEEDS ATTENTION: ${problems.join('; ')}${done.length ? ` (done: ${done.join('; ')})` : ''}`;
  run.compensation = { ok, detail };
  if (ok) tracker.complete('compensate', detail);
  else tracker.fail('compensate', detail);
  for (const step of tracker.progress.steps)
    if (step.status === 'completed' && UNDONE_STEPS.includes(step.name))
      tracker.compensated(step.name, `undone: ${why}`);
  return run.compensation;
}

const UNDONE_STEPS = ['deploy application', 'migrate', 'verify'];

/** Rollback files down to fromVersion; when they fail, this run's backup. */
async function restoreDatabaseVersion(run: DeployFacts): Promise<{ ok: boolean; detail: string }> {
  const { fromVersion } = run;
  const outcome = await returnToVersion({
    environment: run.environment,
    plan: run.plan,
    version: fromVersion,
    appliedBy: `compensation of ${run.workflowId}`,
    label: 'compensate: ',
    ...(run.backup ? { backupId: run.backup.id } : {}),
    ...(run.acceptChangedRollback ? { acceptChangedRollback: run.acceptChangedRollback } : {}),
    keepReplaced: { key: `${run.workflowId}-${workflowInfo().runId}`, initiator: run.initiator },
    ...(run.authorization ? { authorize: () => run.authorization! } : {}),
  });
  const kept =
    'kept' in outcome && outcome.kept
      ? outcome.ok
        ? `; the replaced database ${outcome.kept.database} was kept until the restore was verified${outcome.kept.archiveWorkflowId ? `, then archived and dropped by workflow ${outcome.kept.archiveWorkflowId}` : ' (archive it by hand: its archive workflow did not start)'}`
        : `; the replaced database is kept as ${outcome.kept.database}`
      : '';
  if (outcome.ok)
    return {
      ok: true,
      detail:
        outcome.by === 'files'
          ? `database rolled back to version ${fromVersion} with the rollback files`
          : `rollback files failed (${outcome.filesError}); restored backup ${run.backup!.id}, database at version ${fromVersion}${kept}`,
    };
  return {
    ok: false,
    detail: !run.backup
      ? `rollback files failed (${outcome.filesError}) and this run has no backup`
      : `rollback files failed (${outcome.filesError}) and restoring backup ${run.backup.id} failed (${outcome.restoreError})`,
  };
}
