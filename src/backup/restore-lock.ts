import type { Client } from 'pg';
import { connect } from '../migrations/database';
import { LockTimeoutError } from '../migrations/errors';
import { acquireMigrationLock, findLockHolder } from '../migrations/lock';
import { databaseExists } from './swap-database';
import { toolConnection } from './connection-args';

/**
 * A restore holds the pgshift migration lock of the database it replaces, from before
 * pg_restore until the swap, so that a `migrate up` (or a deploy's apply step) and a restore of
 * the same database exclude each other. Advisory locks belong to one database, and
 * `migrate up` takes its lock in the target database: so does the restore, in a session of
 * its own on the target (application_name `pgshift restore <backup>`, which is what a blocked
 * migration run names).
 *
 * The swap ends that session itself: it first closes the target to new connections, then
 * terminates every session on it (this one included) and renames. No migration run can
 * connect, let alone lock, between the two, and the restored database that takes the name
 * starts unlocked.
 */
export interface HeldMigrationLock {
  /** Backend pid of the session holding the lock. */
  pid: number;
  /** Ends the session (and so the lock); a no-op once the swap has ended it. */
  release(): Promise<void>;
}

export interface HoldMigrationLockOptions {
  /** How long to wait for a migration run to let go before failing with LockTimeoutError. */
  waitMs: number;
  /** Shown to whoever the restore blocks, as the session's application_name (63 bytes at most). */
  holder: string;
  /** Called about once a second while waiting (activities heartbeat from it). */
  onWaiting?: () => void;
}

const POLL_MS = 1000;

/**
 * Takes the migration lock of `databaseUrl`'s database in a session of its own; undefined when
 * that database does not exist (a restore that creates it has nothing to exclude).
 */
export async function holdMigrationLock(
  databaseUrl: string,
  admin: Client,
  options: HoldMigrationLockOptions,
): Promise<HeldMigrationLock | undefined> {
  const target = toolConnection(databaseUrl).database;
  if (!(await databaseExists(admin, target))) return undefined;
  const session = await connect(databaseUrl, {
    application_name: options.holder.slice(0, 63),
  });
  let ended = false;
  const release = async () => {
    if (ended) return;
    ended = true;
    await session.end().catch(() => undefined);
  };
  try {
    // Polled rather than waited for in the server, so the caller can report (heartbeat)
    // while a long migration finishes.
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const left = deadline - Date.now();
      try {
        await acquireMigrationLock(session, Math.max(0, Math.min(POLL_MS, left)));
        break;
      } catch (error) {
        if (!(error instanceof LockTimeoutError) || left <= POLL_MS)
          throw await blocked(session, target, options.waitMs, error);
        options.onWaiting?.();
      }
    }
    const { rows } = await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return { pid: rows[0].pid, release };
  } catch (error) {
    await release();
    throw error;
  }
}

async function blocked(
  session: Client,
  database: string,
  waitMs: number,
  error: unknown,
): Promise<unknown> {
  if (!(error instanceof LockTimeoutError)) return error;
  const holder = await findLockHolder(session).catch(() => undefined);
  const who = holder
    ? `pid ${holder.pid} (application_name "${holder.applicationName}"${holder.since ? `, since ${holder.since}` : ''})`
    : 'another session';
  return new LockTimeoutError(
    `cannot restore database "${database}": a migration run holds the pgshift migration lock: ${who}; waited ${waitMs} ms. Wait for it to finish and retry${holder ? `, or stop it with SELECT pg_terminate_backend(${holder.pid})` : ''}`,
  );
}
