import type { Client } from 'pg';
import { LockTimeoutError } from './errors';

/**
 * The migration lock: a session-level advisory lock on (LOCK_CLASS, LOCK_OBJECT) in the
 * target database. It dies with its session, so a crashed or killed run never leaves a
 * stale lock behind.
 */
export const LOCK_CLASS = 0x70677368; // 'pgsh'
export const LOCK_OBJECT = 1;

export interface LockHolder {
  pid: number;
  applicationName: string;
  clientAddr: string | null;
  since: string | null;
  state: string | null;
}

/** Who holds the migration lock in this database, if anyone. */
export async function findLockHolder(client: Client): Promise<LockHolder | undefined> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    since: Date | null;
    state: string | null;
  }>(
    `SELECT l.pid, a.application_name, host(a.client_addr) AS client_addr,
            coalesce(a.xact_start, a.backend_start) AS since, a.state
       FROM pg_locks l
       LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
      LIMIT 1`,
    [LOCK_CLASS, LOCK_OBJECT],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    pid: row.pid,
    applicationName: row.application_name ?? '',
    clientAddr: row.client_addr,
    since: row.since ? new Date(row.since).toISOString() : null,
    state: row.state,
  };
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return 'another session (it released the lock or could not be identified)';
  const where = holder.clientAddr ? `from ${holder.clientAddr}` : 'over a local socket';
  const since = holder.since ? `, since ${holder.since}` : '';
  return `pid ${holder.pid} (application_name "${holder.applicationName}", ${where}${since})`;
}

async function tryLock(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    'SELECT pg_try_advisory_lock($1, $2) AS ok',
    [LOCK_CLASS, LOCK_OBJECT],
  );
  return rows[0].ok;
}

/**
 * Takes the lock, waiting up to `waitMs` (the wait happens in the server with
 * lock_timeout, so the lock passes to us the moment its holder lets go), then fails with
 * LockTimeoutError naming the holder.
 */
async function acquire(client: Client, waitMs: number): Promise<void> {
  if (await tryLock(client)) return;
  if (waitMs > 0) {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [
      String(Math.max(1, Math.round(waitMs))),
    ]);
    try {
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, LOCK_OBJECT]);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== '55P03') throw error;
    } finally {
      await client.query('RESET lock_timeout');
    }
  }
  const holder = await findLockHolder(client);
  const kill = holder ? `, or stop it with SELECT pg_terminate_backend(${holder.pid})` : '';
  throw new LockTimeoutError(
    `another migration run holds the pgshift migration lock: ${describeHolder(holder)}; waited ${waitMs} ms. Wait for it to finish and retry${kill}`,
  );
}

/** Runs `fn` while holding the migration lock; always releases it. */
export async function withAdvisoryLock<T>(
  client: Client,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  await acquire(client, waitMs);
  try {
    return await fn();
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, LOCK_OBJECT])
      .catch(() => undefined);
  }
}

/**
 * Takes the migration lock for a session that keeps it beyond one function (a restore holds it
 * until its swap ends the session); like every advisory lock it dies with the session.
 */
export const acquireMigrationLock = acquire;
