import { EMERGENCY_BACKUP_COMPRESSION } from '../../src/backup/emergency';
import { backups } from '../activity-proxies';
import {
  checkVersion,
  returnToVersion,
  type ReturnHooks,
  type ReturnOutcome,
} from '../steps/return-to-version';
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

/** The progress of the rollback's database steps, step by step. */
function databaseHooks(run: RollbackContext, target: number): ReturnHooks {
  const { environment, tracker, incident } = run;
  return {
    beforeFiles: () =>
      tracker.start('revert migrations', `running rollback files down to version ${target}`),
    afterFiles: (reverted) => {
      incident.markChanged();
      const count = reverted.appliedCount ?? reverted.applied.length;
      const versions =
        reverted.applied.map((m) => padVersion(m.version)).join(', ') +
        (count > reverted.applied.length ? ` and ${count - reverted.applied.length} more` : '');
      tracker.complete(
        'revert migrations',
        `reverted ${versions || 'nothing'}; now at ${reverted.toVersion}`,
      );
      incident.note(`rollback files run: ${versions || 'nothing'} reverted`);
    },
    beforeRestore: () => tracker.start('restore backup', `restoring into ${environment}`),
    beforeCheck: () =>
      tracker.start('verify database', `checking ${environment} is at version ${target}`),
    checked: (currentVersion) => incident.learn({ toVersion: currentVersion }),
  };
}

/**
 * The database back to `target`: the rollback files, then the version check; when they fail
 * and `backupId` is given, `filesFailed` (the approval of the restore), the backup, the check.
 */
export async function returnDatabase(
  run: RollbackContext,
  target: number,
  backup?: { id: string; filesFailed: (reason: string) => Promise<void> },
): Promise<ReturnOutcome> {
  const { environment, tracker, incident } = run;
  const hooks = databaseHooks(run, target);
  const outcome = await returnToVersion({
    environment,
    plan: run.plan!,
    version: target,
    appliedBy: `${run.initiator} (emergency rollback ${run.incidentId})`,
    ...(backup ? { backupId: backup.id } : {}),
    ...(run.acceptChangedRollback ? { acceptChangedRollback: run.acceptChangedRollback } : {}),
    ...(run.authorize ? { authorize: run.authorize } : {}),
    hooks: {
      ...hooks,
      filesFailed: async (reason) => {
        tracker.fail('revert migrations', reason);
        incident.note(`rollback files failed (${reason}): restoring backup ${backup!.id}`);
        await backup!.filesFailed(reason);
      },
      beforeRestore: () =>
        tracker.start('restore backup', `restoring backup ${backup!.id} into ${environment}`),
      afterRestore: (restored) => {
        incident.markChanged();
        incident.learn({ restoredBackupId: backup!.id });
        tracker.complete(
          'restore backup',
          `backup ${backup!.id} restored in ${restored.durationMs} ms`,
        );
        incident.note(`backup ${backup!.id} restored`);
      },
    },
  });
  if (outcome.ok) databaseVerified(run, target);
  return outcome;
}

/** pg_restore of a backup over the environment (no rollback files tried). */
export async function restore(run: RollbackContext, backupId: string): Promise<void> {
  const { environment, tracker, incident } = run;
  tracker.start('restore backup', `restoring backup ${backupId} into ${environment}`);
  const restored = await backups.restoreDatabase.executeWithOptions(
    { summary: `pg_restore ${backupId} into ${environment}` },
    [{ environment, backupId, ...authorizationFor(run) }],
  );
  incident.markChanged();
  incident.learn({ restoredBackupId: backupId });
  tracker.complete('restore backup', `backup ${backupId} restored in ${restored.durationMs} ms`);
  incident.note(`backup ${backupId} restored`);
}

/** After a restore: the ledger says the environment is at `target`, or the rollback failed. */
export async function verifyVersion(
  run: RollbackContext,
  target: number,
  how: string,
): Promise<void> {
  await checkVersion(
    {
      environment: run.environment,
      plan: run.plan ?? EMPTY_PLAN,
      version: target,
      hooks: databaseHooks(run, target),
    },
    how,
  );
  databaseVerified(run, target);
}

function databaseVerified(run: RollbackContext, target: number): void {
  run.tracker.complete('verify database', `ledger at version ${target}`);
  run.incident.note(`database verified at version ${target}`);
}

/** The `authorization` argument of an activity that changes the database (signed runs only). */
export function authorizationFor(run: Pick<RollbackContext, 'authorize'>) {
  return run.authorize ? { authorization: run.authorize() } : {};
}
