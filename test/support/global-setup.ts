import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPostgres, type LocalPostgres } from '../../src/dev/local/postgres-server';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';

/**
 * Starts the real services once per test run, side by side:
 * - a private PostgreSQL (unless TEST_DATABASE_URL points at one);
 * - a Temporal dev server with pgshift's search attributes (unless TEMPORAL_ADDRESS points at
 *   one), building the Temporal CLI into ~/.cache/pgshift/bin when it is missing.
 * Test files read TEST_DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and PGSHIFT_WEB_UI
 * from process.env, which the forked test workers inherit.
 */
let postgres: LocalPostgres | undefined;
let temporal: DevServer | undefined;
/** Folders of this run (the cluster's data, a few hundred MB to GBs; the dev server's log). */
const scratchDirs: string[] = [];

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratchDirs.push(dir);
  return dir;
}

async function startPostgres(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  postgres = await startLocalPostgres(scratchDir('pgshift-test-pg-'));
  process.env.TEST_DATABASE_URL = postgres.url;
}

async function startTemporal(): Promise<void> {
  if (process.env.TEMPORAL_ADDRESS) {
    process.env.TEMPORAL_NAMESPACE ||= 'default';
    return;
  }
  const logDir = scratchDir('pgshift-test-temporal-');
  temporal = await startDevServer({
    logFile: join(logDir, 'temporal.log'),
    log: (line) => process.stderr.write(line + '\n'),
  });
  process.env.TEMPORAL_ADDRESS = temporal.address;
  process.env.TEMPORAL_NAMESPACE = temporal.namespace;
  if (temporal.uiUrl) process.env.PGSHIFT_WEB_UI = temporal.uiUrl;
}

export async function setup(): Promise<void> {
  const results = await Promise.allSettled([startPostgres(), startTemporal()]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // The dev server's log stays for the error to point at; the cluster's data goes.
    const logDir = scratchDirs.find((dir) => dir.includes('pgshift-test-temporal-'));
    if (logDir) scratchDirs.splice(scratchDirs.indexOf(logDir), 1);
    await teardown();
    throw failed.reason;
  }
}

export async function teardown(): Promise<void> {
  await Promise.allSettled([postgres?.stop(), temporal?.stop()]);
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
