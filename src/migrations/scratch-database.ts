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

/** The URL of database `name` on the server of `serverUrl`. */
export function scratchUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + name;
  return url.toString();
}

/**
 * Creates an empty database `pgshift_rbtest_<random>` on the server of `serverUrl` (the
 * database named in `serverUrl` is only used to issue CREATE/DROP DATABASE) and connects.
 */
export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = SCRATCH_PREFIX + randomBytes(6).toString('hex');
  await withClient(serverUrl, (admin) =>
    admin.query(`CREATE DATABASE ${escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`),
  );
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
