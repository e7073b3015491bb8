import { escapeIdentifier as q, type Client } from 'pg';
import { connect } from '../migrations/database';
import { toolConnection, withDatabase } from './connection-args';

/** A connection to the server of `databaseUrl` that is not to its database (to create, rename or drop it). */
export function connectMaintenance(databaseUrl: string): Promise<Client> {
  const maintenance =
    toolConnection(databaseUrl).database === 'postgres' ? 'template1' : 'postgres';
  return connect(withDatabase(databaseUrl, maintenance));
}

/** `server_version_num`, e.g. 150018 (DROP DATABASE … WITH (FORCE) needs 130000). */
export async function serverVersionNum(admin: Client): Promise<number> {
  const { rows } = await admin.query<{ v: string }>(
    `SELECT current_setting('server_version_num') AS v`,
  );
  return Number(rows[0].v);
}

export async function databaseExists(admin: Client, name: string): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}

export async function dropDatabase(admin: Client, name: string, versionNum: number): Promise<void> {
  if (versionNum >= 130000) {
    await admin.query(`DROP DATABASE IF EXISTS ${q(name)} WITH (FORCE)`);
    return;
  }
  await terminateSessions(admin, name);
  await admin.query(`DROP DATABASE IF EXISTS ${q(name)}`);
}

async function terminateSessions(admin: Client, name: string): Promise<void> {
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [name],
  );
}

/**
 * Puts `replacement` in the place of `target`, which always denotes one complete database:
 * new connections to the target are refused, its open sessions ended, and it is renamed
 * aside while `replacement` takes its name, both renames in one transaction. The replaced
 * database is then dropped, or kept under `preserveAs` with every write made up to the swap.
 * Returns the name it is kept under (null when it was dropped or did not exist).
 * The caller holds the target's migration lock in a session on the target (restore-lock.ts):
 * ending the target's sessions ends that one too, after new connections are refused, so no
 * migration run slips in between the lock and the renames.
 */
export async function swapDatabase(
  admin: Client,
  opts: { target: string; replacement: string; preserveAs?: string; versionNum: number },
): Promise<string | null> {
  const { target, replacement, preserveAs } = opts;
  if (!(await databaseExists(admin, target))) {
    await admin.query(`ALTER DATABASE ${q(replacement)} RENAME TO ${q(target)}`);
    return null;
  }
  const aside = preserveAs ?? `${target.slice(0, 40)}_pgshift_old`;
  // Left by a run killed between the swap and the drop: the restore it did is live.
  if (!preserveAs) await dropDatabase(admin, aside, opts.versionNum);
  await admin.query(`ALTER DATABASE ${q(target)} ALLOW_CONNECTIONS false`);
  let renamed = false;
  try {
    await terminateSessions(admin, target);
    await admin.query('BEGIN');
    try {
      await admin.query(`ALTER DATABASE ${q(target)} RENAME TO ${q(aside)}`);
      await admin.query(`ALTER DATABASE ${q(replacement)} RENAME TO ${q(target)}`);
      await admin.query('COMMIT');
      renamed = true;
    } catch (error) {
      await admin.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await admin.query(`ALTER DATABASE ${q(renamed ? aside : target)} ALLOW_CONNECTIONS true`);
  }
  if (preserveAs) return preserveAs;
  await dropDatabase(admin, aside, opts.versionNum);
  return null;
}

/**
 * A swap first closes the replaced database to new connections; a process killed before the
 * renames committed leaves it closed. Seeing it closed while its scratch database
 * still exists, a retry opens it again before anything else, so that production serves while
 * the restore is redone.
 */
export async function reopenAfterInterruptedSwap(
  admin: Client,
  target: string,
  scratch: string,
): Promise<boolean> {
  const { rows } = await admin.query<{ datname: string; datallowconn: boolean }>(
    'SELECT datname, datallowconn FROM pg_database WHERE datname = ANY($1)',
    [[target, scratch]],
  );
  const closed = rows.some((r) => r.datname === target && !r.datallowconn);
  if (!closed || !rows.some((r) => r.datname === scratch)) return false;
  await admin.query(`ALTER DATABASE ${q(target)} ALLOW_CONNECTIONS true`);
  return true;
}
