import { EMERGENCY_BACKUP_COMPRESSION } from '../../src/backup/emergency';
import { backups, long, quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { padVersion } from '../text';
import { EMPTY_PLAN, type RollbackContext } from './run';

/** pg_dump of the environment before anything changes. */
export async function takeEmergencyBackup(run: RollbackContext): Promise<void> {
  const { environment, tracker, incident } = run;
  tracker.start('emergency backup', `pg_dump of ${environment} before anything changes`);
  const backup = await backups.backupDatabase.executeWithOptions(
    { summary: `emergency backup of ${environment}` },
    [{ environment, name: run.emergencyBackupName, compression: EMERGENCY_BACKUP_COMPRESSION }],
  );
  incident.learn({ emergencyBackupId: backup.id });
  tracker.complete(
    'emergency backup',
    `backup ${backup.id} (${backup.sizeBytes} bytes, version ${backup.currentVersion ?? 0})`,
  );
  incident.note(`emergency backup ${backup.id} taken`);
}

/** The rollback files, newest first, down to `target`. */
export async function revertTo(run: RollbackContext, target: number): Promise<void> {
  const { environment, tracker, incident } = run;
  tracker.start('revert migrations', `running rollback files down to version ${target}`);
  const reverted = await long.revertMigrations.executeWithOptions(
    { summary: `roll ${environment} back to ${padVersion(target)} with the rollback files` },
    [
      {
        environment,
        plan: run.plan!,
        target,
        appliedBy: `${run.initiator} (emergency rollback ${run.incidentId})`,
      },
    ],
  );
  incident.markChanged();
  const versions = reverted.applied.map((m) => padVersion(m.version)).join(', ');
  tracker.complete(
    'revert migrations',
    `reverted ${versions || 'nothing'}; now at ${reverted.toVersion}`,
  );
  incident.note(`rollback files run: ${versions || 'nothing'} reverted`);
}

/** pg_restore of a backup over the environment. */
export async function restore(run: RollbackContext, backupId: string): Promise<void> {
  const { environment, tracker, incident } = run;
  tracker.start('restore backup', `restoring backup ${backupId} into ${environment}`);
  const restored = await backups.restoreDatabase.executeWithOptions(
    { summary: `pg_restore ${backupId} into ${environment}` },
    [{ environment, backupId }],
  );
  incident.markChanged();
  incident.learn({ restoredBackupId: backupId });
  tracker.complete('restore backup', `backup ${backupId} restored in ${restored.durationMs} ms`);
  incident.note(`backup ${backupId} restored`);
}

/** The ledger says the environment is at `target`, or the rollback failed. */
export async function verifyVersion(
  run: RollbackContext,
  target: number,
  how: string,
): Promise<void> {
  const { environment, tracker, incident } = run;
  tracker.start('verify database', `checking ${environment} is at version ${target}`);
  const state = await quick.readMigrationState.executeWithOptions(
    { summary: `verify ${environment} is at version ${target}` },
    [{ environment, plan: run.plan ?? EMPTY_PLAN }],
  );
  incident.learn({ toVersion: state.currentVersion });
  if (state.currentVersion !== target)
    throw stepFailure(
      'RollbackFailed',
      `after ${how}, ${environment} is at version ${state.currentVersion}, not ${target}`,
    );
  tracker.complete('verify database', `ledger at version ${target}`);
  incident.note(`database verified at version ${target}`);
}
