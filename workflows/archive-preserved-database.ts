import { log } from '@temporalio/workflow';
import { backups, quick } from './activity-proxies';
import {
  archivePreservedDatabaseInputSchema,
  type ArchivePreservedDatabaseInput,
  type ArchivePreservedDatabaseResult,
} from './definitions';
import { describeFailure } from './failures';
import { ProgressTracker } from './progress-tracker';
import { firstLine, parseWorkflowInput } from './text';

/**
 * After a full rollback by restore: pg_dump of the database the restore replaced (kept under
 * a `_pre_` name, with every write up to the swap) into the environment's backups, then the
 * kept database is dropped unless the config keeps it. Started by emergencyRollback as an
 * abandoned child, so that the rollback ends when service is back, not when the archive is.
 */
export async function archivePreservedDatabase(
  rawInput: ArchivePreservedDatabaseInput,
): Promise<ArchivePreservedDatabaseResult> {
  const input = parseWorkflowInput(
    archivePreservedDatabaseInputSchema,
    rawInput,
    'archive of a preserved database',
  );
  const { environment, database, backupName, incidentId } = input;
  const started = Date.now();
  const tracker = new ProgressTracker('archivePreservedDatabase', environment, [
    'archive',
    'drop preserved database',
    'notify',
  ]);

  const notify = (title: string, text: string, severity: 'info' | 'critical') =>
    quick.sendNotification
      .executeWithOptions({ summary: `notify: ${title}` }, [
        {
          environment,
          message: {
            title,
            text,
            severity,
            fields: { Environment: environment, Incident: incidentId, Database: database },
          },
        },
      ])
      .catch((error: unknown) => log.warn('archive notification failed', { error: String(error) }));

  tracker.start('archive', `pg_dump of ${database} into backup ${backupName}`);
  let backup;
  try {
    backup = await backups.archivePreservedDatabase.executeWithOptions(
      { summary: `archive ${database} as backup ${backupName}` },
      [{ environment, database, name: backupName }],
    );
  } catch (error) {
    const why = firstLine(describeFailure(error).message);
    tracker.fail('archive', why);
    tracker.skip('drop preserved database', 'not archived: the database is kept');
    await notify(
      `Emergency backup of ${environment} NOT archived: ${database} kept`,
      `The archive of the database replaced by rollback ${incidentId} failed (${why}). It stays on the server as ${database}: archive it with pg_dump, then drop it.`,
      'critical',
    );
    tracker.finish('failed', `${database} not archived: ${why}`);
    throw error;
  }
  tracker.complete(
    'archive',
    `backup ${backup.id} (${backup.sizeBytes} bytes, version ${backup.currentVersion ?? 0}) at ${backup.path}`,
  );

  let databaseDropped = false;
  if (input.keepDatabase)
    tracker.skip('drop preserved database', 'kept: emergency.keepPreservedDatabase is true');
  else {
    tracker.start('drop preserved database', `dropping ${database}: backup ${backup.id} holds it`);
    ({ dropped: databaseDropped } = await quick.dropPreservedDatabase.executeWithOptions(
      { summary: `drop ${database}, archived as ${backup.id}` },
      [{ environment, database }],
    ));
    tracker.complete(
      'drop preserved database',
      databaseDropped ? `${database} dropped` : `${database} was already gone`,
    );
  }

  tracker.start('notify', 'telling stakeholders where the emergency backup is');
  await notify(
    `Emergency backup of ${environment} archived: ${backup.id}`,
    `The database replaced by rollback ${incidentId} (kept as ${database}) is archived as backup ${backup.id} (${backup.path}); ${input.keepDatabase ? `${database} is kept` : `${database} was dropped`}.`,
    'info',
  );
  tracker.complete('notify', 'sent');
  tracker.finish('completed', `${database} archived as ${backup.id}`);
  return {
    environment,
    database,
    backup: {
      id: backup.id,
      path: backup.path,
      sizeBytes: backup.sizeBytes,
      sha256: backup.sha256,
      currentVersion: backup.currentVersion,
    },
    databaseDropped,
    durationMs: Date.now() - started,
  };
}
