import { planArgument } from '../../src/migrations/plan-ref';
import { CancellationScope } from '@temporalio/workflow';
import { quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { padVersion } from '../text';
import { refuse } from './incident';
import { returnDatabase, takeEmergencyBackup } from './database-steps';
import {
  announce,
  EMPTY_PLAN,
  lostData,
  planned,
  recordImpact,
  requireAcceptanceApproval,
  summariseLoss,
  type RollbackRun,
} from './run';

/**
 * The guide's migration rollback: the rollback files down to the target (given, or the version
 * before the last successful deploy); approval when data is lost; the application is untouched.
 */
export async function migrationRollback(run: RollbackRun): Promise<void> {
  const { environment, tracker, incident, plan } = run;
  tracker.start('assess impact', 'reading the ledger and the rollback files');
  if (!plan)
    throw refuse('a migration rollback needs the rollback files: pass --dir <migrations folder>');
  const last = await quick.findLastSuccessfulDeployment({ environment });
  const target = run.migrationTarget ?? last?.fromVersion;
  if (target === undefined)
    throw refuse(
      `no migration target: give --migration-target=N (no successful deploy of ${environment} is recorded to take it from)`,
    );
  const impact = await quick.assessRollbackImpact.executeWithOptions(
    { summary: `assess the impact of rolling ${environment} back to ${padVersion(target)}` },
    [{ environment, plan: planArgument(plan), target }],
  );
  recordImpact(run, impact);
  incident.learn({ fromVersion: impact.currentVersion });
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
    incident.learn({ toVersion: impact.currentVersion, method: 'nothing to revert' });
    await announce(
      run,
      `Nothing to revert: ${environment} is already at version ${impact.currentVersion}.`,
    );
    return;
  }
  const files = impact.reverted.map((m) => padVersion(m.version)).join(', ');
  const lines = [
    `revert ${files} with their rollback files (${impact.currentVersion} → ${target})`,
    `${lostData(impact).length} table(s)/column(s) holding data are dropped`,
    'application untouched',
  ];
  planned(run, lines);
  await run.approval.require(
    run,
    impact.losesData,
    `rolling back to ${target} drops data: ${summariseLoss(impact)}`,
  );
  await requireAcceptanceApproval(run);
  run.approval.skipUnlessRequired(tracker);
  await CancellationScope.nonCancellable(async () => {
    await takeEmergencyBackup(run);
    await announce(run, lines.join('; '));
    incident.learn({ method: `rollback files ${files}` });
    const outcome = await returnDatabase(run, target);
    if (!outcome.ok) {
      const now = await quick
        .readMigrationState({ environment, plan: planArgument(plan ?? EMPTY_PLAN) })
        .catch(() => undefined);
      if (now) incident.learn({ toVersion: now.currentVersion });
      throw stepFailure(
        'RollbackFailed',
        `${outcome.filesError} — ${environment} is at version ${now?.currentVersion ?? 'unknown'}; emergency backup ${incident.facts.emergencyBackupId} holds the state before the rollback`,
      );
    }
  });
}
