import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Client } from 'pg';
import { connect } from '../migrations/database';
import { UsageError } from '../errors';
import { digestDump, sizeOf } from './checksum';
import { toolConnection } from './connection-args';
import { BackupCancelledError, BackupError } from './errors';
import { listArchive } from './list-archive';
import {
  MANIFEST_FILE,
  MIGRATION_STATE_FILE,
  readManifest,
  writeJsonFile,
  type BackupFormat,
  type BackupManifest,
} from './manifest';
import { findPgTool } from './pg-tools';
import { isTableDoneLine, type ProgressCallback } from './progress';
import { isDiskFull, runTool } from './run-tool';
import { readServerInfo } from './server-info';

export interface CreateBackupOptions {
  databaseUrl: string;
  /** Folder holding all backups; this one goes to `<dir>/<name>`. */
  dir: string;
  /** Chosen by the caller (workflow id + step): the same name returns the same backup. */
  name: string;
  /** Default 'directory' (parallel dump and restore). */
  format?: BackupFormat;
  /** Parallel pg_dump jobs (directory format); default min(4, cores). */
  jobs?: number;
  /**
   * gzip level of pg_dump (`--compress`, 0 = none, 1 = fastest … 9 = smallest); default:
   * pg_dump's own (6). Emergency backups use a low level: taken while production is down.
   */
  compression?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  /** Directory holding pg_dump/pg_restore, instead of searching PATH and /usr/lib/postgresql. */
  binDir?: string;
  /** How often to report progress while pg_dump runs (default 2000 ms). */
  progressIntervalMs?: number;
  /**
   * The workflow run the backup is made for, recorded in the manifest. A backup of the same
   * name is reused only by the run that made it, never by another run.
   */
  run?: BackupRun;
}

/** The workflow run a backup belongs to. */
export interface BackupRun {
  workflowId: string;
  runId: string;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=-]*$/;

/** Turns any string (e.g. a workflow id plus a step) into a valid backup name. */
export function toBackupName(...parts: string[]): string {
  return parts
    .join('-')
    .replace(/[^A-Za-z0-9._@+=-]+/g, '_')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 200);
}

/**
 * A backup name that carries the workflow id and the run id: a later run of the same
 * workflow id (a redeploy of the same plan) never finds, reuses or restores this run's backup.
 */
export function runScopedBackupName(name: string, run: BackupRun): string {
  const base = toBackupName(name.includes(run.workflowId) ? name : `${run.workflowId}-${name}`);
  const runPart = toBackupName(run.runId);
  if (base.endsWith(runPart)) return base;
  return `${base.slice(0, 200 - runPart.length - 1)}-${runPart}`;
}

export function defaultJobs(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function sameRun(manifest: BackupManifest, run: BackupRun | undefined): boolean {
  if (!run) return true;
  return manifest.workflowId === run.workflowId && manifest.runId === run.runId;
}

/**
 * An existing complete backup of this run whose checksum still matches, or undefined
 * (partial ones are removed). A complete backup made by another run is never reused nor
 * removed: BackupError.
 */
async function reusableBackup(
  backupDir: string,
  run: BackupRun | undefined,
): Promise<BackupManifest | undefined> {
  if (!existsSync(backupDir)) return undefined;
  if (existsSync(join(backupDir, MANIFEST_FILE))) {
    let manifest: BackupManifest | undefined;
    try {
      manifest = await readManifest(backupDir);
    } catch {
      /* unreadable: redo */
    }
    if (manifest && !sameRun(manifest, run))
      throw new BackupError(
        `backup ${backupDir} was made by ${manifest.workflowId ? `workflow ${manifest.workflowId} run ${manifest.runId}` : 'another run'}: a run never reuses or replaces another run's backup; name this run's backup after its workflow and run id (runScopedBackupName)`,
        'taken',
      );
    try {
      if (manifest) {
        const digest = await digestDump(join(backupDir, manifest.dumpPath));
        if (digest.sha256 === manifest.sha256) return manifest;
      }
    } catch {
      /* unreadable: redo */
    }
  }
  await rm(backupDir, { recursive: true, force: true });
  return undefined;
}

/** Ledger rows read inside the dump's snapshot, so they match the dump exactly. */
async function readLedger(client: Client): Promise<Record<string, unknown>[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('pgshift.migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0].exists) return [];
  const ledger = await client.query<Record<string, unknown>>('SELECT * FROM pgshift.migrations');
  return ledger.rows.sort((a, b) => Number(a.version ?? 0) - Number(b.version ?? 0));
}

async function restrictPermissions(path: string): Promise<void> {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) {
      await chmod(full, 0o700);
      await restrictPermissions(full);
    } else await chmod(full, 0o600);
  }
}

function isEnospc(error: unknown): boolean {
  return (error as { code?: string })?.code === 'ENOSPC';
}

function diskFullError(backupDir: string): BackupError {
  return new BackupError(
    `disk full while writing the backup to ${backupDir}: partial files were removed; free space on that disk or choose another backup directory, then retry`,
    'disk-full',
  );
}

/**
 * Dumps the database with pg_dump (directory format and parallel jobs by default), saves
 * the migration ledger beside it and a manifest, checks the archive with `pg_restore --list`.
 * Idempotent by `name`. The password reaches pg_dump only through its environment.
 */
export async function createBackup(opts: CreateBackupOptions): Promise<BackupManifest> {
  const started = Date.now();
  const format = opts.format ?? 'directory';
  if (!SAFE_NAME.test(opts.name) || opts.name.length > 200)
    throw new UsageError(
      `backup name "${opts.name}" may only hold letters, digits and . _ @ + = - (use toBackupName())`,
    );
  if (
    opts.compression !== undefined &&
    (!Number.isInteger(opts.compression) || opts.compression < 0 || opts.compression > 9)
  )
    throw new UsageError(
      `backup compression must be an integer from 0 (none) to 9 (smallest), got ${opts.compression}`,
    );
  const backupDir = join(opts.dir, opts.name);
  const reused = await reusableBackup(backupDir, opts.run);
  if (reused) {
    opts.onProgress?.({ phase: 'reused', bytes: reused.sizeBytes, tables: reused.tableCount });
    return reused;
  }

  opts.onProgress?.({ phase: 'connecting' });
  const client = await connect(opts.databaseUrl);
  let created = false;
  try {
    const info = await readServerInfo(client);
    const pgDump = await findPgTool('pg_dump', info.serverMajor, { binDir: opts.binDir });
    const pgRestore = await findPgTool('pg_restore', pgDump.major, {
      binDir: dirname(pgDump.path),
    });
    const conn = toolConnection(opts.databaseUrl);

    // A snapshot shared by the ledger read and pg_dump: both see the same instant.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id'))
      .rows[0].id;
    const ledger = await readLedger(client);

    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    await mkdir(backupDir, { mode: 0o700 });
    created = true;
    await chmod(backupDir, 0o700);
    await writeJsonFile(join(backupDir, MIGRATION_STATE_FILE), ledger);

    const dumpPath = format === 'directory' ? 'dump' : 'dump.pgdump';
    const fullDumpPath = join(backupDir, dumpPath);
    const wanted = opts.jobs ?? defaultJobs();
    const jobs =
      format === 'directory' && info.serverVersionNum >= 90300
        ? Math.max(1, Math.min(wanted, info.freeConnections - 3))
        : 1;
    const args = [
      ...conn.args,
      '--format',
      format,
      '--file',
      fullDumpPath,
      `--snapshot=${snapshot}`,
      '--verbose',
      ...(jobs > 1 ? ['--jobs', String(jobs)] : []),
      ...(opts.compression !== undefined ? [`--compress=${opts.compression}`] : []),
    ];
    let tables = 0;
    const timer = setInterval(() => {
      void sizeOf(fullDumpPath).then((bytes) =>
        opts.onProgress?.({ phase: 'dumping', bytes, tables }),
      );
    }, opts.progressIntervalMs ?? 2000);
    let run;
    try {
      run = await runTool(pgDump.path, args, {
        env: conn.env,
        signal: opts.signal,
        onSpawn: (pid) => opts.onProgress?.({ phase: 'dumping', bytes: 0, tables, pid }),
        onStderrLine: (line) => {
          if (isTableDoneLine(line)) tables++;
        },
      });
    } finally {
      clearInterval(timer);
    }
    await client.query('COMMIT').catch(() => undefined);
    if (run.aborted)
      throw new BackupCancelledError(
        `backup ${opts.name} was cancelled: pg_dump was stopped and partial files removed`,
      );
    if (run.exitCode !== 0) {
      if (isDiskFull(run)) throw diskFullError(backupDir);
      throw new BackupError(
        `pg_dump of database "${conn.database}" on ${conn.host}:${conn.port} failed (exit ${run.exitCode ?? run.signal}): ${run.stderrTail || 'no output'}`,
        'tool-failed',
        { nonRetryable: false },
      );
    }
    await restrictPermissions(backupDir);

    opts.onProgress?.({ phase: 'listing', tables });
    const toc = await listArchive(pgRestore.path, fullDumpPath, opts.signal);
    if (opts.signal?.aborted) throw new BackupCancelledError(`backup ${opts.name} was cancelled`);

    opts.onProgress?.({ phase: 'checksumming', tables });
    const digest = await digestDump(fullDumpPath);
    const versions = ledger.map((row) => Number(row.version)).filter((v) => Number.isFinite(v));
    const manifest: BackupManifest = {
      id: opts.name,
      name: opts.name,
      ...(opts.run ? { workflowId: opts.run.workflowId, runId: opts.run.runId } : {}),
      database: conn.database,
      host: conn.host,
      port: conn.port,
      user: conn.user,
      serverVersion: info.serverVersion,
      serverMajor: info.serverMajor,
      pgDumpVersion: pgDump.version,
      format,
      dumpPath,
      jobs,
      ...(opts.compression !== undefined ? { compression: opts.compression } : {}),
      sizeBytes: digest.sizeBytes,
      sha256: digest.sha256,
      files: digest.files,
      createdAt: new Date().toISOString(),
      durationMs: Date.now() - started,
      migrationState: {
        currentVersion: versions.length ? Math.max(...versions) : null,
        count: ledger.length,
      },
      tableCount: toc.tableCount,
      databaseProperties: info.databaseProperties,
      location: { directory: resolve(backupDir), host: hostname() },
    };
    await writeJsonFile(join(backupDir, MANIFEST_FILE), manifest);
    opts.onProgress?.({ phase: 'done', bytes: manifest.sizeBytes, tables: manifest.tableCount });
    return manifest;
  } catch (error) {
    if (created) await rm(backupDir, { recursive: true, force: true }).catch(() => undefined);
    if (isEnospc(error)) throw diskFullError(backupDir);
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
