import { escapeIdentifier as q, type Client } from 'pg';

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
 * Puts `replacement` in the place of `target`. Without `preserveAs` the target is dropped.
 * With it, the target is renamed to `preserveAs` and kept whole, with every write made up to
 * the swap: new connections are refused, open sessions are ended, and both renames commit in
 * one transaction, so the name `target` always denotes one complete database. Returns the
 * name the replaced database now has (null when it was dropped or did not exist).
 */
export async function swapDatabase(
  admin: Client,
  opts: { target: string; replacement: string; preserveAs?: string; versionNum: number },
): Promise<string | null> {
  const { target, replacement, preserveAs } = opts;
  if (!preserveAs || !(await databaseExists(admin, target))) {
    await dropDatabase(admin, target, opts.versionNum);
    await admin.query(`ALTER DATABASE ${q(replacement)} RENAME TO ${q(target)}`);
    return null;
  }
  await admin.query(`ALTER DATABASE ${q(target)} ALLOW_CONNECTIONS false`);
  let renamed = false;
  try {
    await terminateSessions(admin, target);
    await admin.query('BEGIN');
    try {
      await admin.query(`ALTER DATABASE ${q(target)} RENAME TO ${q(preserveAs)}`);
      await admin.query(`ALTER DATABASE ${q(replacement)} RENAME TO ${q(target)}`);
      await admin.query('COMMIT');
      renamed = true;
    } catch (error) {
      await admin.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await admin.query(`ALTER DATABASE ${q(renamed ? preserveAs : target)} ALLOW_CONNECTIONS true`);
  }
  return preserveAs;
}

/**
 * A swap keeping the replaced database first closes it to new connections; a process killed
 * before the renames committed leaves it closed. Seeing it closed while its scratch database
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
