import { existsSync } from 'node:fs';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BackupError } from './errors';

export type BackupFormat = 'custom' | 'directory';

/** What `manifest.json` holds. Plain data, no credentials: safe for workflow results. */
export interface BackupManifest {
  id: string;
  name: string;
  /** The workflow run the backup was made for (absent: made outside a workflow). */
  workflowId?: string;
  runId?: string;
  database: string;
  host: string;
  port: number;
  user: string;
  serverVersion: string;
  serverMajor: number;
  pgDumpVersion: string;
  format: BackupFormat;
  /** Path of the dump relative to the backup directory ("dump" or "dump.pgdump"). */
  dumpPath: string;
  jobs: number;
  /** pg_dump's --compress level when one was chosen (absent: pg_dump's default). */
  compression?: number;
  sizeBytes: number;
  /** sha256 of the dump file; for the directory format, of the sorted listing of file hashes. */
  sha256: string;
  /** Per-file digests of a directory-format dump (empty for custom). */
  files: { file: string; bytes: number; sha256: string }[];
  createdAt: string;
  durationMs: number;
  migrationState: { currentVersion: number | null; count: number };
  tableCount: number;
  /** Database properties used to recreate it on restore. */
  databaseProperties: { owner: string; encoding: string; collate: string; ctype: string };
  /**
   * Where the backup was written: the backup's directory and the host of the worker that
   * wrote it. Any worker restores it when `directory` is on storage every worker shares.
   */
  location?: { directory: string; host: string };
}

export const MANIFEST_FILE = 'manifest.json';
export const MIGRATION_STATE_FILE = 'migration-state.json';

/** Writes JSON owner-only, atomically (temp file + rename): a manifest present means complete. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(temp, path);
}

/** Reads `<backupDir>/manifest.json`; a missing or unreadable one is a BackupError. */
export async function readManifest(backupDir: string): Promise<BackupManifest> {
  const path = join(backupDir, MANIFEST_FILE);
  if (!existsSync(backupDir))
    throw new BackupError(
      `backup ${backupDir} does not exist on host ${hostname()}: a backup is written where the worker that made it keeps backups (backupsDir); with several workers, backupsDir must be a volume every worker shares, so that any of them can restore it (README, Deployment)`,
      'incomplete',
    );
  if (!existsSync(path))
    throw new BackupError(
      `${backupDir} is not a complete backup (no ${MANIFEST_FILE}): choose another backup or take a new one`,
      'incomplete',
    );
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BackupManifest;
  } catch (error) {
    throw new BackupError(
      `${path} is not valid JSON (${(error as Error).message}): the backup is damaged`,
      'incomplete',
    );
  }
}

/** Manifests of the complete backups directly under `dir`, newest first. */
export async function listBackups(dir: string): Promise<(BackupManifest & { path: string })[]> {
  if (!existsSync(dir)) return [];
  const found: (BackupManifest & { path: string })[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (!existsSync(join(path, MANIFEST_FILE))) continue;
    try {
      found.push({ ...(await readManifest(path)), path });
    } catch {
      /* a damaged manifest is not a usable backup; skip it */
    }
  }
  return found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
