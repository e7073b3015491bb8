import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import {
  createBackup,
  listBackups,
  restoreBackup,
  toBackupName,
  type BackupProgress,
} from '../src/backup';
import { asActivity, databaseUrlOf, type ActivityDeps } from './deps';

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

function heartbeatProgress() {
  const context = Context.current();
  return (progress: BackupProgress) => context.heartbeat(progress);
}

export function backupsDirOf(deps: ActivityDeps, environment: string): string {
  return resolve(deps.config.backupsDir, environment);
}

export function createBackupActivities(deps: ActivityDeps) {
  return {
    /**
     * pg_dump of the environment plus its migration state and a manifest. Named by the
     * caller (workflow id + step): a retry returns the backup the first attempt completed.
     */
    async backupDatabase(input: { environment: string; name: string }): Promise<BackupSummary> {
      return asActivity(async () => {
        const manifest = await createBackup({
          databaseUrl: databaseUrlOf(deps, input.environment),
          dir: backupsDirOf(deps, input.environment),
          name: toBackupName(input.name),
          signal: Context.current().cancellationSignal,
          onProgress: heartbeatProgress(),
          ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
        });
        return {
          id: manifest.name,
          path: join(backupsDirOf(deps, input.environment), manifest.name),
          sizeBytes: manifest.sizeBytes,
          sha256: manifest.sha256,
          currentVersion: manifest.migrationState.currentVersion,
          createdAt: manifest.createdAt,
          durationMs: manifest.durationMs,
        };
      });
    },

    /** Replaces the environment's database with backup `backupId` (checksum verified first). */
    async restoreDatabase(input: {
      environment: string;
      backupId: string;
    }): Promise<{ backupId: string; durationMs: number }> {
      return asActivity(async () => {
        const result = await restoreBackup({
          databaseUrl: databaseUrlOf(deps, input.environment),
          backupDir: join(backupsDirOf(deps, input.environment), toBackupName(input.backupId)),
          signal: Context.current().cancellationSignal,
          onProgress: heartbeatProgress(),
          ...(deps.pgBinDir ? { binDir: deps.pgBinDir } : {}),
        });
        return { backupId: input.backupId, durationMs: result.durationMs };
      });
    },

    /** The newest backups of an environment (for --status-only). */
    async listEnvironmentBackups(input: {
      environment: string;
      limit?: number;
    }): Promise<
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
