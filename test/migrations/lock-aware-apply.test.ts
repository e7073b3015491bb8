import type { Client } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockWaitTimeoutError } from '../../src/migrations/errors';
import { loadPlan } from '../../src/migrations/files';
import { migrateDown, migrateUp } from '../../src/migrations/runner';
import type { LockWaitInfo, MigrationPlan } from '../../src/migrations/types';
import { createTestDatabase } from '../support/databases';
import { waitFor } from '../support/wait';
import { ledgerVersions, open, options, writeMigrations } from './fixtures';

let url: string;
const clients: Client[] = [];

async function session(applicationName: string): Promise<Client> {
  const client = await open(url);
  await client.query(`SET application_name = '${applicationName}'`);
  clients.push(client);
  return client;
}

const pidOf = async (client: Client): Promise<number> =>
  (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;

async function columnExists(client: Client, table: string, column: string): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`,
    [table, column],
  );
  return rows.length > 0;
}

/** A plan of one migration adding a column to `customers` (ACCESS EXCLUSIVE for a moment). */
async function addColumnPlan(): Promise<MigrationPlan> {
  return loadPlan(
    writeMigrations([
      {
        version: 1,
        name: 'add_customer_note',
        up: 'ALTER TABLE customers ADD COLUMN note text;',
        down: 'ALTER TABLE customers DROP COLUMN IF EXISTS note;',
      },
    ]),
  );
}

/** A session named `applicationName` in an open transaction that ran `sql`; its pid. */
async function blockingSession(applicationName: string, sql: string) {
  const client = await session(applicationName);
  await client.query(`BEGIN; ${sql}`);
  return { client, pid: await pidOf(client) };
}

/** How the runner names an idle-in-transaction blocker holding `mode` on customers. */
const idleBlocker = (pid: number, applicationName: string, mode: string) =>
  new RegExp(
    `^pid ${pid} \\(${applicationName}, idle in transaction for [0-9.]+m?s\\) holding ${mode} on customers$`,
  );

/**
 * Starts `migrateUp` of `plan` on `migrator` behind a blocking session; resolves once the run
 * names what it waits for, with the run and the time it finished (0 while it runs).
 */
async function runBehindBlocker(plan: MigrationPlan, migrator: Client) {
  const waits: LockWaitInfo[] = [];
  const run = migrateUp(migrator, plan, options({ onLockWait: (info) => waits.push(info) }));
  const finished = { at: 0 };
  void run.then(() => (finished.at = Date.now())).catch(() => undefined);
  const named = await waitFor('the migration to name what it waits for', async () =>
    waits.find((w) => w.blockers[0]?.startsWith('pid ')),
  );
  return { run, named, finished };
}

beforeEach(async () => {
  url = await createTestDatabase('lockaware');
  const setup = await session('setup');
  await setup.query(
    `CREATE TABLE customers (id bigint PRIMARY KEY, email text);
     INSERT INTO customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 100) g;`,
  );
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.end().catch(() => undefined);
});

describe('lock-aware apply', () => {
  it('waits for a blocking session without queueing, names it, and applies within a second of its end', async () => {
    const plan = await addColumnPlan();
    const { client: billing, pid: billingPid } = await blockingSession(
      'billing',
      'SELECT count(*) FROM customers',
    );
    const migrator = await session('pgshift');
    const traffic = await session('traffic');
    const { run, named, finished } = await runBehindBlocker(plan, migrator);
    expect(named.what).toBe('001_add_customer_note.sql');
    expect(named.blockers[0]).toMatch(idleBlocker(billingPid, 'billing', 'AccessShareLock'));
    // Not queued: no lock request of the migration waits, so traffic on the table runs.
    const queued = await traffic.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'customers'::regclass`,
    );
    expect(queued.rows[0].n).toBe(0);
    await traffic.query(`SET statement_timeout = '500ms'`);
    const t0 = Date.now();
    await traffic.query('SELECT count(*) FROM customers');
    await traffic.query(`UPDATE customers SET email = email WHERE id = 1`);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(finished.at).toBe(0);

    await billing.query('COMMIT');
    const committedAt = Date.now();
    const result = await run;
    expect(finished.at - committedAt).toBeLessThan(1000);
    expect(result.results[0].status).toBe('Success');
    expect(result.results[0].lockWait?.blockers.join('\n')).toContain(`pid ${billingPid} (billing`);
    expect(await columnExists(traffic, 'customers', 'note')).toBe(true);
    expect(await ledgerVersions(traffic)).toEqual([1]);
  });

  it('applies the migrations before a blocked one, then waits for the blocker and applies the rest', async () => {
    const plan = await loadPlan(
      writeMigrations([
        {
          version: 1,
          name: 'create_orders',
          up: 'CREATE TABLE orders (id bigint PRIMARY KEY);',
          down: 'DROP TABLE IF EXISTS orders;',
        },
        {
          version: 2,
          name: 'add_customer_note',
          up: 'ALTER TABLE customers ADD COLUMN note text;',
          down: 'ALTER TABLE customers DROP COLUMN IF EXISTS note;',
        },
        {
          version: 3,
          name: 'add_order_note',
          up: 'ALTER TABLE orders ADD COLUMN note text;',
          down: 'ALTER TABLE orders DROP COLUMN IF EXISTS note;',
        },
        // A run of 12: long enough to be sent in batches of one round trip.
        ...Array.from({ length: 9 }, (_, i) => ({
          version: i + 4,
          name: `create_t${i + 4}`,
          up: `CREATE TABLE t${i + 4} (id bigint);`,
          down: `DROP TABLE IF EXISTS t${i + 4};`,
        })),
      ]),
    );
    const billing = await session('billing');
    await billing.query('BEGIN; SELECT count(*) FROM customers');
    const billingPid = await pidOf(billing);
    const migrator = await session('pgshift');
    const traffic = await session('traffic');
    const { run, named } = await runBehindBlocker(plan, migrator);
    expect(named.what).toBe('002_add_customer_note.sql');
    expect(await ledgerVersions(traffic)).toEqual([1]);
    const queued = await traffic.query(
      `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'customers'::regclass`,
    );
    expect(queued.rows[0].n).toBe(0);

    await billing.query('COMMIT');
    const result = await run;
    const all = Array.from({ length: 12 }, (_, i) => i + 1);
    expect(result.results.map((r) => [r.version, r.status])).toEqual(
      all.map((v) => [v, 'Success']),
    );
    expect(result.results[1].lockWait?.blockers.join('\n')).toContain(`pid ${billingPid} (billing`);
    expect(await ledgerVersions(traffic)).toEqual(all);
    expect(await columnExists(traffic, 'orders', 'note')).toBe(true);
  });

  it('fails with LockWaitTimeoutError naming the blockers when the budget runs out, and cancels nobody by default', async () => {
    const plan = await addColumnPlan();
    const billing = await session('billing');
    await billing.query('BEGIN; SELECT count(*) FROM customers');
    const billingPid = await pidOf(billing);
    const migrator = await session('pgshift');
    const error = await migrateUp(migrator, plan, options({ lockWaitMs: 1_500 })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockWaitTimeoutError);
    const e = error as LockWaitTimeoutError;
    expect(e.nonRetryable).toBe(true);
    expect(e.exitCode).toBe(1);
    expect(e.message).toContain('001_add_customer_note.sql: gave up after waiting');
    expect(e.message).toContain(`pid ${billingPid} (billing, idle in transaction for`);
    expect(e.message).toContain('holding AccessShareLock on customers');
    expect(e.blockers.length).toBeGreaterThan(0);
    // The blocker was left alone, nothing was applied.
    expect((await billing.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    expect(await columnExists(migrator, 'customers', 'note')).toBe(false);
    expect(await ledgerVersions(migrator)).toEqual([]);
  });

  it('retries after a lock timeout when the blocker is too young to wait for', async () => {
    const plan = await addColumnPlan();
    const billing = await session('billing');
    const migrator = await session('pgshift');
    // The blocker starts just before the attempt: the attempt times out (200 ms) and retries.
    await billing.query('BEGIN; SELECT count(*) FROM customers');
    const releasing = new Promise((r) => setTimeout(r, 600)).then(() => billing.query('COMMIT'));
    const result = await migrateUp(migrator, plan, options());
    await releasing;
    expect(result.results[0].status).toBe('Success');
    expect(await columnExists(migrator, 'customers', 'note')).toBe(true);
  });

  it('cancels an active blocking query when --cancel-blockers-after is given, and records it', async () => {
    const plan = await addColumnPlan();
    const report = await session('report');
    const reportPid = await pidOf(report);
    const reading = report
      .query('SELECT count(*), pg_sleep(30) FROM customers')
      .catch((e: { code?: string }) => e);
    const migrator = await session('pgshift');
    await waitFor('the report to run', async () => {
      const { rows } = await migrator.query(
        `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`,
        [reportPid],
      );
      return rows.length > 0;
    });
    const result = await migrateUp(migrator, plan, options({ cancelBlockersAfterMs: 300 }));
    expect(((await reading) as { code?: string }).code).toBe('57014');
    expect(result.results[0].lockWait?.actions[0]).toMatch(
      new RegExp(`^cancel pid ${reportPid}: pid ${reportPid} \\(report, active for`),
    );
    const { rows } = await migrator.query(
      `SELECT version, file, action, pid, succeeded, acted_by, blocker FROM pgshift.blocker_actions`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      version: 1,
      file: '001_add_customer_note.sql',
      action: 'cancel',
      pid: reportPid,
      succeeded: true,
      acted_by: 'tester',
    });
    expect(rows[0].blocker).toContain('AccessShareLock on customers');
    expect(await columnExists(migrator, 'customers', 'note')).toBe(true);
  });

  it('terminates an idle-in-transaction blocker when --terminate-idle-blockers-after is given', async () => {
    const plan = await addColumnPlan();
    const billing = await session('billing');
    await billing.query('BEGIN; SELECT count(*) FROM customers');
    const billingPid = await pidOf(billing);
    const migrator = await session('pgshift');
    const result = await migrateUp(
      migrator,
      plan,
      options({ terminateIdleBlockersAfterMs: 300, cancelBlockersAfterMs: 300 }),
    );
    expect(result.results[0].lockWait?.actions[0]).toContain(`terminate pid ${billingPid}`);
    const { rows } = await migrator.query(`SELECT action, pid FROM pgshift.blocker_actions`);
    expect(rows).toEqual([{ action: 'terminate', pid: billingPid }]);
    await expect(billing.query('SELECT 1')).rejects.toThrow();
  });
});

describe('no-transaction files recover', () => {
  const indexPlan = () =>
    loadPlan(
      writeMigrations([
        {
          version: 1,
          name: 'unique_customer_email',
          up: 'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS customers_email_key ON customers (email);',
          down: 'DROP INDEX CONCURRENTLY IF EXISTS customers_email_key;',
          upMarkers: ['-- pgshift:no-transaction'],
          downMarkers: ['-- pgshift:no-transaction'],
        },
      ]),
    );

  async function indexState(client: Client): Promise<'valid' | 'invalid' | 'absent'> {
    const { rows } = await client.query(
      `SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass('customers_email_key')`,
    );
    if (rows.length === 0) return 'absent';
    return rows[0].indisvalid ? 'valid' : 'invalid';
  }

  const started = async (client: Client) =>
    (await client.query('SELECT version FROM pgshift.started_migrations')).rows.map(
      (r) => r.version as number,
    );

  it('waits for a blocking session before CREATE INDEX CONCURRENTLY as a transactional file does, naming it', async () => {
    const plan = await indexPlan();
    const { client: reindexer, pid: reindexerPid } = await blockingSession(
      'reindexer',
      'LOCK TABLE customers IN SHARE MODE',
    );
    const migrator = await session('pgshift');
    const { run, named, finished } = await runBehindBlocker(plan, migrator);
    expect(named.what).toBe('001_unique_customer_email.sql:7');
    expect(named.blockers[0]).toMatch(idleBlocker(reindexerPid, 'reindexer', 'ShareLock'));
    expect(await indexState(migrator)).toBe('absent');
    expect(finished.at).toBe(0);

    await reindexer.query('COMMIT');
    const committedAt = Date.now();
    const result = await run;
    expect(finished.at - committedAt).toBeLessThan(1000);
    expect(result.results[0].lockWait?.blockers.join('\n')).toContain(`pid ${reindexerPid}`);
    expect(await indexState(migrator)).toBe('valid');
    expect(await ledgerVersions(migrator)).toEqual([1]);
  });

  it('rebuilds the INVALID index a failed concurrent build left, on the next run', async () => {
    const plan = await indexPlan();
    const migrator = await session('pgshift');
    await migrator.query(`UPDATE customers SET email = 'dup@example.com' WHERE id IN (1, 2)`);
    await expect(migrateUp(migrator, plan, options())).rejects.toThrow(/23505/);
    expect(await indexState(migrator)).toBe('invalid');
    expect(await ledgerVersions(migrator)).toEqual([]);
    expect(await started(migrator)).toEqual([1]);

    await migrator.query(`UPDATE customers SET email = 'c2@example.com' WHERE id = 2`);
    const result = await migrateUp(migrator, plan, options());
    expect(result.results[0].status).toBe('Success');
    expect(result.results[0].notices?.join('\n')).toContain('dropped INVALID index');
    expect(await indexState(migrator)).toBe('valid');
    expect(await ledgerVersions(migrator)).toEqual([1]);
    expect(await started(migrator)).toEqual([]);
  });

  /** Runs the plan and kills its session while CREATE INDEX CONCURRENTLY waits. */
  async function crashInsideIndexBuild(plan: MigrationPlan): Promise<Client> {
    // An old snapshot makes the concurrent build wait in its last phase.
    const reader = await session('reader');
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1 FROM customers LIMIT 1');
    const migrator = await session('pgshift');
    const migratorPid = await pidOf(migrator);
    const observer = await session('observer');
    const run = migrateUp(migrator, plan, options({ lockTimeout: '60s' })).catch((e: unknown) => e);
    await waitFor('the index build to wait for the old snapshot', async () => {
      const { rows } = await observer.query(
        `SELECT 1 FROM pg_stat_progress_create_index WHERE pid = $1 AND phase LIKE 'waiting%'`,
        [migratorPid],
      );
      return rows.length > 0;
    });
    await observer.query('SELECT pg_terminate_backend($1)', [migratorPid]);
    expect(await run).toBeInstanceOf(Error);
    await reader.query('COMMIT');
    expect(await indexState(observer)).toBe('invalid');
    expect(await ledgerVersions(observer)).toEqual([]);
    expect(await started(observer)).toEqual([1]);
    return observer;
  }

  it('rebuilds the index after the session was killed inside CREATE INDEX CONCURRENTLY', async () => {
    const plan = await indexPlan();
    const client = await crashInsideIndexBuild(plan);
    const result = await migrateUp(client, plan, options());
    expect(result.results[0].status).toBe('Success');
    expect(await indexState(client)).toBe('valid');
    expect(await ledgerVersions(client)).toEqual([1]);
    expect(await started(client)).toEqual([]);
  });

  it('lets compensation revert a no-transaction file that was started and never finished', async () => {
    const plan = await indexPlan();
    const client = await crashInsideIndexBuild(plan);
    const dry = await migrateDown(client, plan, 0, { ...options(), dryRun: true });
    expect(dry.results.map((r) => r.version)).toEqual([1]);
    const result = await migrateDown(client, plan, 0, options());
    expect(result.results.map((r) => [r.version, r.status])).toEqual([[1, 'Success']]);
    expect(await indexState(client)).toBe('absent');
    expect(await started(client)).toEqual([]);
    expect(await ledgerVersions(client)).toEqual([]);
  });
});
