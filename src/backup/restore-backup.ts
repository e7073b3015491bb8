import { join } from 'node:path';
import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import { toolConnection } from './connection-args';
import { BackupCancelledError, BackupError } from './errors';
import { readManifest, type BackupManifest } from './manifest';
import { copyDatabaseProperties } from './database-properties';
import { findPgTool, parseToolVersion } from './pg-tools';
import { isTableDoneLine, type ProgressCallback } from './progress';
import { defaultJobs } from './create-backup';
import { isDiskFull, runTool } from './run-tool';
import {
  connectMaintenance,
  databaseExists,
  dropDatabase,
  reopenAfterInterruptedSwap,
  serverVersionNum,
  swapDatabase,
} from './swap-database';
import { assertChecksumInParts } from './verify-backup';
import { holdMigrationLock, type HeldMigrationLock } from './restore-lock';

export interface RestoreBackupOptions {
  /** The database to replace (it is created when missing). */
  databaseUrl: string;
  /** `<dir>/<name>` of a backup made by createBackup. */
  backupDir: string;
  /** Parallel pg_restore jobs; default min(4, cores). */
  jobs?: number;
  signal?: AbortSignal;
  onProgress?: ProgressCallback;
  binDir?: string;
  /** Skip ownership (ALTER … OWNER): use when restoring onto a server without the dump's roles. */
  noOwner?: boolean;
  /**
   * Awaited after pg_restore has filled the scratch database and before the swap (e.g. an
   * emergency backup of the live database taken meanwhile). When it throws, the scratch
   * database is dropped, the target is left untouched and its error is rethrown.
   */
  beforeSwap?: () => Promise<void>;
  /**
   * Keep the replaced database, renamed to this name, instead of dropping it (see
   * preservedDatabaseName). A retry that finds this name taken knows the swap happened and
   * returns without restoring again.
   */
  preserveAs?: string;
  /**
   * How long to wait for a migration run holding the pgshift migration lock of the target
   * (the restore holds that lock until its swap: see restore-lock.ts); default 2 minutes.
   */
  migrationLockWaitMs?: number;
}

export interface RestoreResult {
  backup: string;
  database: string;
  durationMs: number;
  /** From the start until every file of the dump had passed its checksum (overlaps pg_restore). */
  checksumMs: number;
  restoreMs: number;
  /** Time spent awaiting `beforeSwap` after pg_restore ended (0 without it). */
  waitedBeforeSwapMs: number;
  jobs: number;
  tables: number;
  sizeBytes: number;
  migrationState: BackupManifest['migrationState'];
  /** The name the replaced database was kept under; null when it was dropped or absent. */
  preservedAs: string | null;
  /** A previous attempt had already swapped (preserveAs taken): nothing was done this time. */
  alreadyRestored: boolean;
  /**
   * Properties of the replaced database (settings, grants, comment, connection limit) that
   * could not be copied onto the restored one, each with its error; empty when all were.
   */
  propertiesNotCopied: string[];
}

const q = escapeIdentifier;

/** Name of the scratch database the backup is restored into before the swap. */
function scratchName(target: string): string {
  return `${target.slice(0, 40)}_pgshift_restore`;
}

/** CREATE DATABASE with the dumped database's owner, encoding and locale (falling back to defaults). */
async function createScratch(
  admin: Client,
  name: string,
  manifest: BackupManifest,
  noOwner: boolean,
): Promise<void> {
  const props = manifest.databaseProperties;
  const { rows } = await admin.query<{ exists: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists',
    [props?.owner ?? ''],
  );
  const owner = !noOwner && rows[0].exists ? ` OWNER ${q(props.owner)}` : '';
  const full = props
    ? ` ENCODING ${escapeLiteral(props.encoding)} LC_COLLATE ${escapeLiteral(props.collate)} LC_CTYPE ${escapeLiteral(props.ctype)}`
    : '';
  try {
    await admin.query(`CREATE DATABASE ${q(name)} TEMPLATE template0${full}${owner}`);
  } catch {
    await admin.query(`CREATE DATABASE ${q(name)} TEMPLATE template0${owner}`);
  }
}

/**
 * Restores a backup exactly: checks the manifest checksum (a tampered or corrupt backup never
 * replaces anything), restores with `pg_restore -j` into a scratch database (the live one keeps
 * serving meanwhile), then swaps in one transaction: the scratch database takes the target's
 * name, and the target is dropped after (or kept under `preserveAs`); an optional
 * `beforeSwap` hook is awaited before the swap.
 * The checksum of `toc.dat`, which holds every statement pg_restore runs, is checked before
 * pg_restore starts; the row data files are hashed while it runs, and the swap waits for them.
 * A failed restore (or hook, or checksum) drops the scratch database and leaves the target
 * untouched. A dump does not hold the database's own properties (ALTER DATABASE … SET, ALTER
 * ROLE … IN DATABASE … SET, grants, comment, connection limit): they are copied from the
 * database being replaced just before the swap.
 */
export async function restoreBackup(opts: RestoreBackupOptions): Promise<RestoreResult> {
  const started = Date.now();
  const manifest = await readManifest(opts.backupDir);
  const target = toolConnection(opts.databaseUrl);
  const admin = await connectMaintenance(opts.databaseUrl);
  let migrationLock: HeldMigrationLock | undefined;
  try {
    const result = (fields: Partial<RestoreResult>): RestoreResult => ({
      backup: manifest.name,
      database: target.database,
      durationMs: Date.now() - started,
      checksumMs: 0,
      restoreMs: 0,
      waitedBeforeSwapMs: 0,
      jobs: 0,
      tables: manifest.tableCount,
      sizeBytes: manifest.sizeBytes,
      migrationState: manifest.migrationState,
      preservedAs: null,
      alreadyRestored: false,
      propertiesNotCopied: [],
      ...fields,
    });
    if (opts.preserveAs && (await databaseExists(admin, opts.preserveAs))) {
      opts.onProgress?.({ phase: 'done', tables: manifest.tableCount });
      return result({ preservedAs: opts.preserveAs, alreadyRestored: true });
    }
    await reopenAfterInterruptedSwap(admin, target.database, scratchName(target.database));
    migrationLock = await holdMigrationLock(opts.databaseUrl, admin, {
      waitMs: opts.migrationLockWaitMs ?? 120_000,
      holder: `pgshift restore ${manifest.name}`,
      onWaiting: () => opts.onProgress?.({ phase: 'waiting-for-migration-lock' }),
    });

    opts.onProgress?.({ phase: 'verifying', bytes: manifest.sizeBytes });
    const checksum = await assertChecksumInParts(opts.backupDir, manifest);
    let checksumFailed = false;
    const checksumDone = checksum.data.then(
      () => Date.now() - started,
      () => ((checksumFailed = true), Date.now() - started),
    );
    if (opts.signal?.aborted)
      throw new BackupCancelledError(`restore of ${manifest.name} was cancelled before it started`);

    const versionNum = await serverVersionNum(admin);
    const archiveMajor = parseToolVersion(`(PostgreSQL) ${manifest.pgDumpVersion}`)?.major ?? 0;
    const pgRestore = await findPgTool(
      'pg_restore',
      Math.max(Math.floor(versionNum / 10000), archiveMajor),
      {
        binDir: opts.binDir,
      },
    );

    const scratch = scratchName(target.database);
    const dropScratch = () => dropDatabase(admin, scratch, versionNum).catch(() => undefined);
    opts.onProgress?.({ phase: 'creating-database' });
    try {
      await dropDatabase(admin, scratch, versionNum);
      await createScratch(admin, scratch, manifest, opts.noOwner ?? false);
    } catch (error) {
      throw new BackupError(
        `cannot create the scratch database "${scratch}" on ${target.host}:${target.port} (${(error as Error).message}): the user needs CREATEDB; database "${target.database}" is untouched`,
        'tool-failed',
      );
    }

    // pg_restore stops when the caller cancels or a data file fails its checksum.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    void checksumDone.then(() => checksumFailed && stop.abort());
    const jobs = Math.max(1, opts.jobs ?? defaultJobs());
    const conn = toolConnection(opts.databaseUrl, scratch);
    let tables = 0;
    const restoreStarted = Date.now();
    const run = await runTool(
      pgRestore.path,
      [
        ...conn.args,
        '--exit-on-error',
        '--verbose',
        ...(jobs > 1 ? ['--jobs', String(jobs)] : []),
        ...(opts.noOwner ? ['--no-owner'] : []),
        join(opts.backupDir, manifest.dumpPath),
      ],
      {
        env: conn.env,
        signal: stop.signal,
        onSpawn: (pid) =>
          opts.onProgress?.({ phase: 'restoring', bytes: manifest.sizeBytes, tables, pid }),
        onStderrLine: (line) => {
          if (!isTableDoneLine(line)) return;
          tables++;
        },
      },
    ).finally(() => opts.signal?.removeEventListener('abort', onAbort));
    const restoreMs = Date.now() - restoreStarted;
    // Waited for even after a failed pg_restore: a corrupt dump is reported as corrupt.
    const checksumMs = await checksumDone;
    if (checksumFailed || run.aborted || run.exitCode !== 0) {
      await dropScratch();
      if (checksumFailed) await checksum.data;
      if (run.aborted)
        throw new BackupCancelledError(
          `restore of ${manifest.name} was cancelled: pg_restore was stopped, database "${target.database}" is untouched`,
        );
      throw new BackupError(
        `pg_restore of backup ${manifest.name} failed (exit ${run.exitCode ?? run.signal})${isDiskFull(run) ? ' because the disk is full' : ''}: ${run.stderrTail || 'no output'} — database "${target.database}" is untouched`,
        isDiskFull(run) ? 'disk-full' : 'tool-failed',
      );
    }

    // Parallel pg_restore workers share one stderr and their -v lines can interleave, so the
    // count above is only progress; a successful restore restored every table of the dump.
    tables = manifest.tableCount;
    const waitStarted = Date.now();
    if (opts.beforeSwap) {
      opts.onProgress?.({ phase: 'waiting-before-swap', tables });
      try {
        await opts.beforeSwap();
      } catch (error) {
        await dropScratch();
        throw error;
      }
    }
    const waitedBeforeSwapMs = opts.beforeSwap ? Date.now() - waitStarted : 0;
    if (opts.beforeSwap && opts.signal?.aborted) {
      await dropScratch();
      throw new BackupCancelledError(
        `restore of ${manifest.name} was cancelled before the swap: the scratch database was dropped, database "${target.database}" is untouched`,
      );
    }
    opts.onProgress?.({ phase: 'swapping', tables });
    const propertiesNotCopied = await copyDatabaseProperties(admin, target.database, scratch);
    let preservedAs: string | null;
    try {
      preservedAs = await swapDatabase(admin, {
        target: target.database,
        replacement: scratch,
        versionNum,
        ...(opts.preserveAs ? { preserveAs: opts.preserveAs } : {}),
      });
    } catch (error) {
      const why = (error as Error).message;
      if (await databaseExists(admin, target.database).catch(() => true)) {
        await dropScratch();
        throw new BackupError(
          `cannot swap the restored copy of backup ${manifest.name} in (${why}): database "${target.database}" is untouched; end the sessions the restoring user may not terminate, then retry`,
          'tool-failed',
          { nonRetryable: false },
        );
      }
      throw new BackupError(
        `database "${target.database}" does not exist and the restored copy could not take its name (${why}): it is complete in database "${scratch}"; rename it with ALTER DATABASE "${scratch}" RENAME TO "${target.database}"`,
        'tool-failed',
      );
    }
    opts.onProgress?.({ phase: 'done', tables });
    return result({
      checksumMs,
      restoreMs,
      waitedBeforeSwapMs,
      jobs,
      tables,
      preservedAs,
      propertiesNotCopied,
    });
  } finally {
    await migrationLock?.release();
    await admin.end().catch(() => undefined);
  }
}
