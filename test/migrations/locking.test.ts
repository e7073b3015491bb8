import type { Client } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockTimeoutError } from '../../src/migrations/errors';
import { loadPlan } from '../../src/migrations/files';
import { findLockHolder, withAdvisoryLock } from '../../src/migrations/lock';
import { migrateUp } from '../../src/migrations/runner';
import { createTestDatabase } from '../support/databases';
import { ledgerVersions, open, options, tablePair, writeMigrations } from './fixtures';

let url: string;
const clients: Client[] = [];

async function session(applicationName = 'pgshift'): Promise<Client> {
  const client = await open(url);
  await client.query(`SET application_name = '${applicationName}'`);
  clients.push(client);
  return client;
}

/** Resolves once `holder` holds the migration lock (checked from another session). */
async function waitForHolder(observer: Client, pid: number): Promise<void> {
  for (;;) {
    const holder = await findLockHolder(observer);
    if (holder?.pid === pid) return;
    await observer.query('SELECT pg_sleep(0.01)');
  }
}

beforeEach(async () => {
  url = await createTestDatabase('lock');
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.end().catch(() => undefined);
});

describe('migration lock', () => {
  it('applies each migration exactly once when two runs race on two connections', async () => {
    const plan = await loadPlan(writeMigrations([1, 2, 3, 4, 5, 6].map(tablePair)));
    const [a, b] = [await session(), await session()];
    const [ra, rb] = await Promise.all([
      migrateUp(a, plan, options({ appliedBy: 'a' })),
      migrateUp(b, plan, options({ appliedBy: 'b' })),
    ]);
    const applied = [...ra.results, ...rb.results].filter((r) => r.status === 'Success');
    expect(applied.map((r) => r.version).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await ledgerVersions(a)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fails with LockTimeoutError naming the holder when the lock is held too long', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    const holder = await session('other-deploy');
    const waiter = await session();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding = withAdvisoryLock(holder, 1_000, () => released);
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await waitForHolder(waiter, holderPid);
    const error = await migrateUp(waiter, plan, options({ advisoryLockWaitMs: 200 })).catch(
      (e: unknown) => e,
    );
    release();
    await holding;
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toContain(`pid ${holderPid}`);
    expect((error as Error).message).toContain('application_name "other-deploy"');
    expect(await ledgerVersions(waiter).catch(() => [])).toEqual([]);
  });

  it('waits for a running migration and then finds nothing left to do', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    const holder = await session();
    const waiter = await session();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holding = withAdvisoryLock(holder, 1_000, async () => {
      await migrateUp(holder, plan, options()).catch(() => undefined);
      await released;
    });
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await waitForHolder(waiter, holderPid);
    const waiting = migrateUp(waiter, plan, options());
    release();
    await holding;
    expect((await waiting).results).toEqual([]);
  });

  it('is not blocked by the lock of a killed session', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    const doomed = await session('crashed-run');
    const survivor = await session();
    const doomedPid = (await doomed.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const holding = withAdvisoryLock(doomed, 1_000, () => new Promise<void>(() => undefined));
    await waitForHolder(survivor, doomedPid);
    await survivor.query('SELECT pg_terminate_backend($1)', [doomedPid]);
    void holding.catch(() => undefined);
    const result = await migrateUp(survivor, plan, options({ advisoryLockWaitMs: 5_000 }));
    expect(result.results.map((r) => r.status)).toEqual(['Success']);
  });
});
