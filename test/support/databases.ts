import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl } from '../../src/dev/local/postgres-server';

/** URL of the test server (started by global-setup or given by TEST_DATABASE_URL). */
export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'TEST_DATABASE_URL is not set: run the tests with vitest (global-setup starts PostgreSQL)',
    );
  return url;
}

/** Creates an empty database with a unique name and returns its URL. */
export async function createTestDatabase(prefix = 'test'): Promise<string> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new Client(testServerUrl());
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return databaseUrl(testServerUrl(), name);
}

/** Runs one query against `url` and returns the rows. */
export async function query<T = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client(url);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** `url` pointing at another database of the same server. */
export function withDatabaseName(url: string, database: string): string {
  const next = new URL(url);
  next.pathname = `/${encodeURIComponent(database)}`;
  return next.toString();
}

export async function databaseExists(name: string): Promise<boolean> {
  const rows = await query(testServerUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length > 0;
}
