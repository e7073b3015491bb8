import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPostgres, type LocalPostgres } from '../../src/local/postgres-server';

/**
 * Starts the real services once per test run: a private PostgreSQL (unless
 * TEST_DATABASE_URL points at one). Test files read the URL from process.env,
 * which the forked test workers inherit.
 */
let postgres: LocalPostgres | undefined;

export async function setup(): Promise<void> {
  if (!process.env.TEST_DATABASE_URL) {
    postgres = await startLocalPostgres(mkdtempSync(join(tmpdir(), 'pgshift-test-pg-')));
    process.env.TEST_DATABASE_URL = postgres.url;
  }
}

export async function teardown(): Promise<void> {
  await postgres?.stop();
}
