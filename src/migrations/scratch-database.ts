import { randomBytes } from 'node:crypto';
import { escapeIdentifier, type Client } from 'pg';
import { connect, withClient } from './database';

/** Every scratch database pgshift creates starts with this (easy to spot and clean up). */
export const SCRATCH_PREFIX = 'pgshift_rbtest_';

export interface ScratchDatabase {
  name: string;
  /** Connected to the scratch database. */
  client: Client;
  /** Closes the client and drops the database (idempotent, never throws). */
  drop(): Promise<void>;
}

/**
 * A scratch database nobody is connected to this long after its creation (the time is in its
 * name) was left behind by a killed run: the next run drops it.
 */
export const ABANDONED_AFTER_MS = 10 * 60_000;

/** `pgshift_rbtest_<creation time, base 36>_<random>`. */
export function scratchName(now = Date.now()): string {
  return `${SCRATCH_PREFIX}${now.toString(36)}_${randomBytes(6).toString('hex')}`;
}

function createdAt(name: string): number | undefined {
  const match = new RegExp(`^${SCRATCH_PREFIX}([0-9a-z]+)_[0-9a-f]{12}$`).exec(name);
  return match ? parseInt(match[1], 36) : undefined;
}

/**
 * Drops the scratch databases of killed runs: named by pgshift, older than
 * ABANDONED_AFTER_MS and without any session. Best effort: returns what it dropped.
 */
export async function dropAbandonedScratchDatabases(
  admin: Client,
  now = Date.now(),
): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database d
      WHERE datname LIKE $1
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
    [`${SCRATCH_PREFIX.replace(/_/g, '\\_')}%`],
  );
  const dropped: string[] = [];
  for (const { datname } of rows) {
    const created = createdAt(datname);
    if (created === undefined || now - created < ABANDONED_AFTER_MS) continue;
    // Without FORCE: a session that connected meanwhile keeps it.
    const ok = await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(datname)}`).then(
      () => true,
      () => false,
    );
    if (ok) dropped.push(datname);
  }
  return dropped;
}

/** The URL of database `name` on the server of `serverUrl`. */
export function scratchUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return url.toString();
}

/**
 * Creates an empty database `pgshift_rbtest_<time>_<random>` on the server of `serverUrl` (the
 * database named in `serverUrl` is only used to issue CREATE/DROP DATABASE) and connects;
 * first drops the scratch databases killed runs left behind.
 */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = scratchName();
  await withClient(serverUrl, async (admin) => {
    await dropAbandonedScratchDatabases(admin).catch(() => undefined);
    await admin.query(
      `CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`,
    );
  });
  let dropped = false;
  const drop = async (client?: Client): Promise<void> => {
    if (dropped) return;
    dropped = true;
    await client?.end().catch(() => undefined);
    await withClient(serverUrl, (admin) =>
      admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`),
    ).catch(() => undefined);
  };
  let client: Client;
  try {
    client = await connect(scratchUrl(serverUrl, name), {
      application_name: 'pgshift test rollback',
    });
  } catch (error) {
    await drop();
    throw error;
  }
  return { name, client, drop: () => drop(client) };
}

/** Runs `fn` with a fresh scratch database, dropped afterwards whatever happens. */
export async function withScratchDatabase<T>(
  serverUrl: string,
  fn: (scratch: ScratchDatabase) => Promise<T>,
): Promise<T> {
  const scratch = await createScratchDatabase(serverUrl);
  try {
    return await fn(scratch);
  } finally {
    await scratch.drop();
  }
}
