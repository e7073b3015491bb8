/**
 * The two ways a full emergency rollback restores a backup while keeping an emergency backup
 * of what it replaces, and the archive of a kept database.
 */
import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import { backups } from '../activity-proxies';
import { archivePreservedDatabase } from '../archive-preserved-database';
import { archiveWorkflowId } from '../definitions';
import { describeFailure, stepFailure } from '../failures';
import { formatSeconds } from '../incident-report';
import { firstLine } from '../text';
import { authorizationFor } from './database-steps';
import type { RollbackContext, RollbackRun } from './run';

/**
 * The emergency backup and the restore at once (before PRESERVED_DATABASE_PATCH): pg_dump of
 * the live database runs while pg_restore fills a scratch database; the swap waits for the
 * emergency backup, so the backup still holds the state before any change.
 */
export async function restoreDuringEmergencyBackup(
  run: RollbackContext,
  backupId: string,
): Promise<void> {
  const { environment, tracker, incident, emergencyBackupName } = run;
  tracker.start(
    'emergency backup',
    `pg_dump of ${environment} while backup ${backupId} is restored beside it`,
  );
  tracker.start(
    'restore backup',
    `restoring backup ${backupId} into a scratch database; it replaces ${environment} once the emergency backup is complete`,
  );
  incident.note(
    `emergency backup of ${environment} and restore of backup ${backupId} started together: ${environment} is replaced only after the emergency backup is complete`,
  );
  let done;
  try {
    done = await backups.restoreWithEmergencyBackup.executeWithOptions(
      { summary: `emergency backup of ${environment} while ${backupId} is restored` },
      [{ environment, backupId, emergencyBackupName, ...authorizationFor(run) }],
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
  incident.learn({ emergencyBackupId: backup.id });
  tracker.completeAt(
    'emergency backup',
    backup.createdAt,
    `backup ${backup.id} (${backup.sizeBytes} bytes, version ${backup.currentVersion ?? 0}) in ${formatSeconds(backup.durationMs)}, during the restore`,
  );
  incident.note(
    `emergency backup ${backup.id} taken in ${formatSeconds(backup.durationMs)}, during the restore`,
    backup.createdAt,
  );
  incident.markChanged();
  incident.learn({ restoredBackupId: backupId });
  tracker.complete(
    'restore backup',
    `backup ${backupId} restored in ${formatSeconds(restored.durationMs)} (pg_restore ${formatSeconds(restored.restoreMs)}, then ${formatSeconds(restored.waitedForBackupMs)} waiting for the emergency backup before the swap)`,
  );
  incident.note(`backup ${backupId} restored and swapped in`);
}

/**
 * The restore whose emergency backup is the replaced database itself: renamed at the swap, it
 * holds every write up to that instant; a child workflow archives it once service is back.
 */
export async function restoreKeepingReplacedDatabase(
  run: RollbackRun,
  backupId: string,
): Promise<void> {
  const { environment, tracker, incident, emergencyBackupName, incidentId } = run;
  tracker.start(
    'emergency backup',
    `${environment} is kept whole at the swap, with every write until then, and archived as backup ${emergencyBackupName} after the rollback`,
  );
  tracker.start(
    'restore backup',
    `restoring backup ${backupId} into a scratch database; it replaces ${environment}, which is kept as the emergency backup`,
  );
  incident.note(
    `restore of backup ${backupId} started: ${environment} keeps serving until the swap, then is kept under another name as the emergency backup`,
  );
  let done;
  try {
    done = await backups.restoreDatabasePreservingLive.executeWithOptions(
      { summary: `pg_restore ${backupId} into ${environment}, keeping the replaced database` },
      [{ environment, backupId, incidentId, ...authorizationFor(run) }],
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
  incident.markChanged();
  incident.learn({ restoredBackupId: backupId });
  if (done.preservedDatabase) {
    const archiveId = archiveWorkflowId(incidentId);
    incident.learn({
      emergencyBackupId: emergencyBackupName,
      preserved: {
        database: done.preservedDatabase,
        swappedAt: done.swappedAt,
        archiveWorkflowId: archiveId,
        archiveBackupId: emergencyBackupName,
        keepDatabase: run.policy.keepPreservedDatabase ?? false,
      },
    });
    tracker.completeAt(
      'emergency backup',
      done.swappedAt,
      `${environment} kept as database ${done.preservedDatabase} at the swap, with every write until then; archived as backup ${emergencyBackupName} by workflow ${archiveId} after the rollback`,
    );
    incident.note(
      `emergency backup: ${environment} kept as database ${done.preservedDatabase} at the swap`,
      done.swappedAt,
    );
  } else tracker.skip('emergency backup', `database ${environment} did not exist: nothing to keep`);
  tracker.complete(
    'restore backup',
    `backup ${backupId} restored in ${formatSeconds(done.durationMs)} (pg_restore ${formatSeconds(done.restoreMs)}) and swapped in${done.alreadyRestored ? ' (by an earlier attempt)' : ''}`,
  );
  incident.note(`backup ${backupId} restored and swapped in`);
  if (done.propertiesNotCopied?.length)
    incident.note(
      `NEEDS ATTENTION: database settings not carried over to the restored ${environment}: ${done.propertiesNotCopied.join('; ')}`,
    );
}

/** Starts the archive of the kept database; it outlives the rollback (abandoned child). */
export async function startArchive(run: RollbackContext): Promise<void> {
  const { environment, tracker, initiator, incidentId } = run;
  const kept = run.incident.facts.preserved;
  if (!kept) {
    if (tracker.progress.steps.some((s) => s.name === 'archive emergency backup'))
      tracker.skip('archive emergency backup', 'no replaced database was kept');
    return;
  }
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
}
