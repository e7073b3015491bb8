import { CancellationScope, isCancellation, log } from '@temporalio/workflow';
import { describeFailure } from '../failures';
import { returnToVersion } from '../steps/return-to-version';
import type { RehearsalRun } from './run';

/** The steps whose changes compensation undoes. */
const UNDONE_STEPS = ['migrate', 'verify', 'rollback rehearsal', 'rollback tests'];

/**
 * A failure (or a cancellation) of the rehearsal: recorded, and once the backup was taken,
 * staging is brought back to where it was, in a non-cancellable scope.
 */
export async function failRehearsal(run: RehearsalRun, error: unknown): Promise<void> {
  if (isCancellation(error)) run.cancelled = error;
  const described = describeFailure(error);
  run.failure = `${described.type}: ${described.message}`;
  const running = run.tracker.running();
  if (running) run.tracker.fail(running.name, described.message);
  log.warn('rehearsal failed', { workflowId: run.workflowId, failure: run.failure });
  const backup = run.backup;
  if (backup)
    run.compensation = await CancellationScope.nonCancellable(() => restoreStaging(run, backup.id));
}

/**
 * Compensation: bring staging back to `fromVersion` with the rollback files; if that
 * fails, restore the backup. Then prove it: the schema snapshot (files) or the version (backup).
 */
async function restoreStaging(run: RehearsalRun, backupId: string): Promise<string> {
  const { environment, plan, workflowId, fromVersion, tracker } = run;
  tracker.setPhase('compensating', `bringing ${environment} back to version ${fromVersion}`);
  const outcome = await returnToVersion({
    environment,
    plan,
    version: fromVersion,
    appliedBy: `compensation of ${workflowId}`,
    label: 'compensate: ',
    backupId,
    eitherDirection: true,
    schemaSnapshot: { workflowId, label: `v${fromVersion}` },
    hooks: {
      filesFailed: (reason) =>
        tracker.setPhase(
          'compensating',
          `rollback files failed (${reason}); restoring backup ${backupId}`,
        ),
    },
  });
  const how = !outcome.ok
    ? `NEEDS ATTENTION: rollback files failed (${outcome.filesError}) and restoring backup ${backupId} failed (${outcome.restoreError})`
    : outcome.by === 'files'
      ? `rolled back to version ${fromVersion} with the rollback files; schema identical to before`
      : `rollback files failed (${outcome.filesError}); restored backup ${backupId}, ${environment} at version ${fromVersion}`;
  for (const step of tracker.progress.steps)
    if (step.status === 'completed' && UNDONE_STEPS.includes(step.name))
      tracker.compensated(step.name, how);
  return how;
}
