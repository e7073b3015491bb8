import { join, resolve } from 'node:path';
import {
  createBackup,
  dropPreservedDatabase,
  listBackups,
  preservedDatabaseName,
  restoreBackup,
  runScopedBackupName,
  toBackupName,
  type BackupRun,
  type BackupManifest,
  type BackupProgress,
} from '../src/backup';
import { Context } from '@temporalio/activity';
import { toolConnection, withDatabase } from '../src/backup/connection-args';
import { EMERGENCY_BACKUP_COMPRESSION } from '../src/backup/emergency';
import { assertSignedAuthorization, type AuthorizedChange } from './approval-keys';
import { asActivity, databaseUrlOf, type ActivityDeps, type OnEnvironment } from './deps';
import { withHeartbeat } from './heartbeat';
import { refuseRehearsalOfProduction } from './tier';

/** What a workflow keeps of a backup: an id and a few figures, never the data or a URL. */
export interface BackupSummary {
  id: string;
  path: string;
  sizeBytes: number;
  sha256: string;
  currentVersion: number | null;
  createdAt: string;
  durationMs: number;
}

/** What the concurrent emergency backup and restore return: both summaries. */
export interface RestoreWithEmergencyBackupResult {
  emergencyBackup: BackupSummary;
  restore: {
    backupId: string;
    durationMs: number;
    /** pg_restore into the scratch database alone. */
    restoreMs: number;
    /** How long the restored scratch database waited for the emergency backup before the swap. */
    waitedForBackupMs: number;
  };
}

/** A restore that kept the database it replaced (the emergency backup of a full rollback). */
export interface PreservingRestoreResult {
  backupId: string;
  durationMs: number;
  /** pg_restore into the scratch database alone. */
  restoreMs: number;
  /** The name the replaced database is kept under; null when there was no database to keep. */
  preservedDatabase: string | null;
  /** When the replaced database stopped taking writes: the instant of the swap. */
  swappedAt: string;
  /** A retry found the swap already done. */
  alreadyRestored: boolean;
  /** Settings or grants of the replaced database that could not be carried over, with why. */
  propertiesNotCopied?: string[];
}

function summaryOf(manifest: BackupManifest, dir: string): BackupSummary {
  return {
    id: manifest.name,
    path: join(dir, manifest.name),
    sizeBytes: manifest.sizeBytes,
    sha256: manifest.sha256,
    currentVersion: manifest.migrationState.currentVersion,
    createdAt: manifest.createdAt,
    durationMs: manifest.durationMs,
  };
}

/** The workflow run this activity works for: backups are named by it and never shared. */
function currentRun(): BackupRun | undefined {
  const execution = Context.current().info.workflowExecution;
  return execution ? { workflowId: execution.workflowId, runId: execution.runId } : undefined;
}

/** `name` scoped by the current run (unchanged outside a workflow). */
function runScoped(name: string): string {
  const run = currentRun();
  return run ? runScopedBackupName(name, run) : toBackupName(name);
}

/** Runs a backup or restore step under a timer heartbeat carrying its latest progress. */
function heartbeating<T>(
  work: (signal: AbortSignal, onProgress: (progress: BackupProgress) => void) => Promise<T>,
): Promise<T> {
  return withHeartbeat((heartbeat) =>
    work(heartbeat.signal, (progress) => heartbeat.update(progress)),
  );
}

export function backupsDirOf(deps: ActivityDeps, environment: string): string {
  return resolve(deps.config.backupsDir, environment);
}

export function createBackupActivities(deps: ActivityDeps) {
  return {
    /**
     * pg_dump of the environment plus its migration state and a manifest. Named by the
     * caller's name plus the workflow id and run id: a retry in the same run returns the
     * backup the first attempt completed; another run (a redeploy of the same plan) backs up
     * afresh and never sees this one.
     */
    async backupDatabase(
      input: OnEnvironment<{
        name: string;
        /** pg_dump --compress level; default pg_dump's own. */
        compression?: number;
      }>,
    ): Promise<BackupSummary> {
      return asActivity(() =>
        heartbeating(async (signal, onProgress) => {
          refuseRehearsalOfProduction(deps, input.environment);
          const manifest = await createBackup({
            databaseUrl: databaseUrlOf(deps, input.environment),
            dir: backupsDirOf(deps, input.environment),
            name: runScoped(input.name),
            run: currentRun(),
            signal,
            onProgress,
            ...(input.compression !== undefined ? { compression: input.compression } : {}),
            ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
          });
          return summaryOf(manifest, backupsDirOf(deps, input.environment));
        }),
      );
    },

    /**
     * The restore path of a full emergency rollback in one step: the emergency backup
     * (pg_dump of the live database, fast compression) runs while pg_restore fills the scratch
     * database with backup `backupId`; the scratch database replaces the live one only once the
     * emergency backup is complete. A failed emergency backup stops the restore and drops the
     * scratch database: the live database is untouched. A retry reuses the emergency backup
     * (named by the caller) and restores again, to the same end state.
     */
    async restoreWithEmergencyBackup(
      input: AuthorizedChange<{
        backupId: string;
        emergencyBackupName: string;
      }>,
    ): Promise<RestoreWithEmergencyBackupResult> {
      return asActivity(async () => {
        await assertSignedAuthorization(deps, input.environment, input.authorization, {
          what: 'restore a backup',
        });
        const databaseUrl = databaseUrlOf(deps, input.environment);
        const dir = backupsDirOf(deps, input.environment);
        const progress: { emergencyBackup: BackupProgress; restore: BackupProgress } = {
          emergencyBackup: { phase: 'connecting' },
          restore: { phase: 'verifying' },
        };
        const bin = deps.pgBinDir ? { binDir: deps.pgBinDir } : {};
        return withHeartbeat(async (heartbeat) => {
          const cancelled = heartbeat.signal;
          const beat = () => heartbeat.update(progress);
          // The restore stops when the activity is cancelled or the emergency backup fails.
          const stopRestore = new AbortController();
          const stop = () => stopRestore.abort();
          cancelled.addEventListener('abort', stop, { once: true });
          const backup = createBackup({
            databaseUrl,
            dir,
            name: runScoped(input.emergencyBackupName),
            run: currentRun(),
            compression: EMERGENCY_BACKUP_COMPRESSION,
            signal: cancelled,
            onProgress: (p) => {
              progress.emergencyBackup = p;
              beat();
            },
            ...bin,
          });
          backup.catch(stop);
          try {
            const [emergency, restored] = await Promise.allSettled([
              backup,
              restoreBackup({
                databaseUrl,
                backupDir: join(dir, toBackupName(input.backupId)),
                signal: stopRestore.signal,
                onProgress: (p) => {
                  progress.restore = p;
                  beat();
                },
                beforeSwap: async () => void (await backup),
                ...bin,
              }),
            ]);
            // A failed emergency backup is the cause of a stopped restore: report it first.
            if (emergency.status === 'rejected') throw emergency.reason;
            if (restored.status === 'rejected') throw restored.reason;
            return {
              emergencyBackup: summaryOf(emergency.value, dir),
              restore: {
                backupId: input.backupId,
                durationMs: restored.value.durationMs,
                restoreMs: restored.value.restoreMs,
                waitedForBackupMs: restored.value.waitedBeforeSwapMs,
              },
            };
          } finally {
            cancelled.removeEventListener('abort', stop);
          }
        }, progress);
      });
    },

    /**
     * Replaces the environment's database with backup `backupId`, keeping the database it
     * replaces under a name derived from `incidentId` (renamed at the swap, so it holds every
     * write up to that instant): the emergency backup of a full rollback, taken at no cost to
     * the restore. A retry finds that name taken and returns the swap already done.
     */
    async restoreDatabasePreservingLive(
      input: AuthorizedChange<{
        backupId: string;
        incidentId: string;
      }>,
    ): Promise<PreservingRestoreResult> {
      return asActivity(() =>
        heartbeating(async (signal, onProgress) => {
          await assertSignedAuthorization(deps, input.environment, input.authorization, {
            what: 'swap in a restored backup',
          });
          const databaseUrl = databaseUrlOf(deps, input.environment);
          const result = await restoreBackup({
            databaseUrl,
            backupDir: join(backupsDirOf(deps, input.environment), toBackupName(input.backupId)),
            preserveAs: preservedDatabaseName(
              toolConnection(databaseUrl).database,
              input.incidentId,
            ),
            signal,
            onProgress,
            ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
          });
          return {
            backupId: input.backupId,
            durationMs: result.durationMs,
            restoreMs: result.restoreMs,
            preservedDatabase: result.preservedAs,
            swappedAt: new Date().toISOString(),
            alreadyRestored: result.alreadyRestored,
            propertiesNotCopied: result.propertiesNotCopied,
          };
        }),
      );
    },

    /** pg_dump of a database kept by a restore, into the environment's backups as `name`. */
    async archivePreservedDatabase(
      input: OnEnvironment<{ database: string; name: string }>,
    ): Promise<BackupSummary> {
      return asActivity(() =>
        heartbeating(async (signal, onProgress) => {
          const dir = backupsDirOf(deps, input.environment);
          const manifest = await createBackup({
            databaseUrl: withDatabase(databaseUrlOf(deps, input.environment), input.database),
            dir,
            name: toBackupName(input.name),
            run: currentRun(),
            signal,
            onProgress,
            ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
          });
          return summaryOf(manifest, dir);
        }),
      );
    },

    /** Drops a database kept by a restore (never the environment's own database). */
    async dropPreservedDatabase(
      input: OnEnvironment<{ database: string }>,
    ): Promise<{ dropped: boolean }> {
      return asActivity(async () => ({
        dropped: await dropPreservedDatabase(
          databaseUrlOf(deps, input.environment),
          input.database,
        ),
      }));
    },

    /** Replaces the environment's database with backup `backupId` (checksum verified first). */
    async restoreDatabase(
      input: AuthorizedChange<{
        backupId: string;
      }>,
    ): Promise<{ backupId: string; durationMs: number }> {
      return asActivity(() =>
        heartbeating(async (signal, onProgress) => {
          refuseRehearsalOfProduction(deps, input.environment);
          await assertSignedAuthorization(deps, input.environment, input.authorization, {
            what: 'restore a backup',
          });
          const result = await restoreBackup({
            databaseUrl: databaseUrlOf(deps, input.environment),
            backupDir: join(backupsDirOf(deps, input.environment), toBackupName(input.backupId)),
            signal,
            onProgress,
            ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
          });
          return { backupId: input.backupId, durationMs: result.durationMs };
        }),
      );
    },

    /** The newest backups of an environment (for --status-only). */
    async listEnvironmentBackups(
      input: OnEnvironment<{ limit?: number }>,
    ): Promise<
      { id: string; createdAt: string; sizeBytes: number; currentVersion: number | null }[]
    > {
      return asActivity(async () => {
        const manifests = await listBackups(backupsDirOf(deps, input.environment)).catch(() => []);
        return manifests.slice(0, input.limit ?? 5).map((m) => ({
          id: m.name,
          createdAt: m.createdAt,
          sizeBytes: m.sizeBytes,
          currentVersion: m.migrationState.currentVersion,
        }));
      });
    },
  };
}
