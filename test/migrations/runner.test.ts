import type { Client } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockWaitTimeoutError, MigrationExecutionError } from '../../src/migrations/errors';
import { loadPlan } from '../../src/migrations/files';
import { currentVersion, readLedger } from '../../src/migrations/ledger';
import { applyMigration, migrateDown, migrateUp } from '../../src/migrations/runner';
import { createTestDatabase } from '../support/databases';
import { waitFor } from '../support/wait';
import {
  ledgerVersions,
  open,
  options,
  shippedMigrations,
  tableExists,
  tablePair,
  writeMigrations,
} from './fixtures';

let client: Client;
let url: string;

beforeEach(async () => {
  url = await createTestDatabase('runner');
  client = await open(url);
});

afterEach(async () => {
  await client.end();
});

async function failure(promise: Promise<unknown>): Promise<MigrationExecutionError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MigrationExecutionError);
  return error as MigrationExecutionError;
}

describe('migrate up', () => {
  it('applies every pending migration and records each in the ledger', async () => {
    const plan = await loadPlan(writeMigrations([1, 2, 3].map(tablePair)));
    const result = await migrateUp(client, plan, options());
    expect(result.results.map((r) => [r.version, r.status])).toEqual([
      [1, 'Success'],
      [2, 'Success'],
      [3, 'Success'],
    ]);
    expect(result).toMatchObject({ direction: 'up', dryRun: false, fromVersion: 0, toVersion: 3 });
    expect(await tableExists(client, 't3')).toBe(true);
    const ledger = await readLedger(client);
    expect(ledger.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(ledger[0]).toMatchObject({
      name: 'create_t1',
      appliedBy: 'tester',
      source: 'migrate',
      forwardChecksum: plan.migrations[0].forward.checksum,
      rollbackChecksum: plan.migrations[0].rollback.checksum,
    });
  });

  it('stops after --to and applies the rest on the next run', async () => {
    const plan = await loadPlan(writeMigrations([1, 2, 3].map(tablePair)));
    const first = await migrateUp(client, plan, { ...options(), to: 2 });
    expect(first.results.map((r) => r.version)).toEqual([1, 2]);
    expect(await currentVersion(client)).toBe(2);
    const second = await migrateUp(client, plan, options());
    expect(second.results.map((r) => r.version)).toEqual([3]);
    const third = await migrateUp(client, plan, options());
    expect(third.results).toEqual([]);
  });

  it('has no side effects in a dry run, not even the ledger schema', async () => {
    const plan = await loadPlan(writeMigrations([1, 2].map(tablePair)));
    const result = await migrateUp(client, plan, { ...options(), dryRun: true });
    expect(result).toMatchObject({ dryRun: true, fromVersion: 0, toVersion: 2 });
    expect(result.results.map((r) => r.status)).toEqual(['NotExecuted', 'NotExecuted']);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'pgshift'`,
    );
    expect(rows[0].n).toBe(0);
    expect(await tableExists(client, 't1')).toBe(false);
  });

  it('reports a failing migration with file, line, SQLSTATE and a caret; earlier ones stay applied', async () => {
    const bad = {
      version: 2,
      name: 'add_note',
      up: 'ALTER TABLE t1 ADD COLUMN IF NOT EXISTS extra text;\nINSERT INTO t1 (id, note)\n  VALUES (1, missing_column);',
      down: 'ALTER TABLE t1 DROP COLUMN IF EXISTS extra;',
    };
    const plan = await loadPlan(writeMigrations([tablePair(1), bad, tablePair(3)]));
    const error = await failure(migrateUp(client, plan, options()));
    expect(error.file).toBe('002_add_note.sql');
    expect(error.line).toBe(8);
    expect(error.sqlState).toBe('42703');
    expect(error.message).toContain(
      '002_add_note.sql:8: column "missing_column" does not exist (SQLSTATE 42703)',
    );
    expect(error.message).toContain(`  8 |   VALUES (1, missing_column);\n  ${' '.repeat(17)}^`);
    expect(error.runResult!.results.map((r) => [r.version, r.status])).toEqual([
      [1, 'Success'],
      [2, 'Error'],
      [3, 'NotExecuted'],
    ]);
    expect(error.runResult!.toVersion).toBe(1);
    expect(await ledgerVersions(client)).toEqual([1]);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 't1' AND column_name = 'extra'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('runs a file with its own BEGIN/COMMIT atomically with the ledger row', async () => {
    const pair = {
      version: 1,
      name: 'guide_style',
      up: "BEGIN;\nCREATE TABLE IF NOT EXISTS t1 (id bigint);\nCOMMIT;\n\nINSERT INTO t1 VALUES ('not a number');",
      down: 'DROP TABLE IF EXISTS t1;',
    };
    const plan = await loadPlan(writeMigrations([pair]));
    const error = await failure(migrateUp(client, plan, options()));
    expect(error.line).toBe(10);
    expect(error.sqlState).toBe('22P02');
    expect(await tableExists(client, 't1')).toBe(false);
    expect(await ledgerVersions(client)).toEqual([]);
  });

  it('names the failing statement of an error that has no position', async () => {
    const pair = {
      version: 1,
      name: 'duplicate_rows',
      up: 'CREATE TABLE IF NOT EXISTS t1 (id bigint PRIMARY KEY);\nINSERT INTO t1 VALUES (1);\n\nINSERT INTO t1 VALUES (1);',
      down: 'DROP TABLE IF EXISTS t1;',
    };
    const plan = await loadPlan(writeMigrations([pair]));
    const error = await failure(migrateUp(client, plan, options()));
    expect(error.sqlState).toBe('23505');
    expect(error.line).toBe(9);
    expect(error.message).toContain('9 | INSERT INTO t1 VALUES (1);');
    expect(await tableExists(client, 't1')).toBe(false);
  });

  it('names the failing statement of an error without position in the middle of a run', async () => {
    const duplicate = {
      version: 2,
      name: 'duplicate_rows',
      up: 'INSERT INTO t1 (id) VALUES (1);\n\nINSERT INTO t1 (id) VALUES (1);',
      down: 'DELETE FROM t1;',
    };
    // A run of 12: long enough to be sent in batches of one round trip.
    const rest = Array.from({ length: 10 }, (_, i) => tablePair(i + 3));
    const plan = await loadPlan(writeMigrations([tablePair(1), duplicate, ...rest]));
    const error = await failure(migrateUp(client, plan, options()));
    expect(error.file).toBe('002_duplicate_rows.sql');
    expect(error.sqlState).toBe('23505');
    expect(error.line).toBe(8);
    expect(error.runResult!.results.map((r) => [r.version, r.status])).toEqual([
      [1, 'Success'],
      [2, 'Error'],
      ...rest.map((m) => [m.version, 'NotExecuted']),
    ]);
    expect(await ledgerVersions(client)).toEqual([1]);
    expect((await client.query('SELECT count(*)::int AS n FROM t1')).rows[0].n).toBe(0);
    expect(await tableExists(client, 't3')).toBe(false);
  });

  it('gives each migration of a run its own notices and progress events, in order', async () => {
    const versions = Array.from({ length: 12 }, (_, i) => i + 1);
    const plan = await loadPlan(writeMigrations(versions.map(tablePair)));
    await migrateUp(client, plan, options());
    const events: string[] = [];
    const down = await migrateDown(
      client,
      plan,
      0,
      options({ onProgress: (e) => events.push(`${e.phase} ${e.version}`) }),
    );
    const newestFirst = [...versions].reverse();
    expect(down.results.map((r) => [r.version, r.status, r.notices])).toEqual(
      newestFirst.map((v) => [
        v,
        'Success',
        [`Rollback ${String(v).padStart(3, '0')} completed successfully`],
      ]),
    );
    expect(events).toEqual(newestFirst.flatMap((v) => [`start ${v}`, `done ${v}`]));
    expect(await ledgerVersions(client)).toEqual([]);
  });

  it('reports a migration done while the next one of the same run still runs', async () => {
    const holder = await open(url);
    await holder.query('SELECT pg_advisory_lock(4242)');
    const waiting = {
      version: 2,
      name: 'wait_for_holder',
      up: 'SELECT pg_advisory_xact_lock(4242);',
      down: 'SELECT 1;',
    };
    const rest = Array.from({ length: 10 }, (_, i) => tablePair(i + 3));
    const plan = await loadPlan(writeMigrations([tablePair(1), waiting, ...rest]));
    const events: string[] = [];
    const run = migrateUp(
      client,
      plan,
      options({ lockTimeout: '5min', onProgress: (e) => events.push(`${e.phase} ${e.version}`) }),
    );
    // Within seconds, while migration 2 still waits (its lock_timeout is minutes away).
    await waitFor(
      'migration 2 to be reported started',
      async () => (events.includes('start 2') ? true : undefined),
      15_000,
    );
    expect(events).toEqual(['start 1', 'done 1', 'start 2']);
    await holder.query('SELECT pg_advisory_unlock(4242)');
    await holder.end();
    await run;
    expect(events).toEqual(
      [1, 2, ...rest.map((m) => m.version)].flatMap((v) => [`start ${v}`, `done ${v}`]),
    );
  });

  it('collects the notices of the guide trailing DO block', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    await migrateUp(client, plan, options());
    const down = await migrateDown(client, plan, 0, options());
    expect(down.results[0]).toMatchObject({ status: 'Success', direction: 'down' });
    expect(down.results[0].notices).toEqual(['Rollback 001 completed successfully']);
  });

  it('runs a no-transaction file statement by statement (CREATE INDEX CONCURRENTLY)', async () => {
    const index = {
      version: 2,
      name: 'index_t1',
      up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_t1_note ON t1 (note);',
      down: 'DROP INDEX CONCURRENTLY IF EXISTS idx_t1_note;',
      upMarkers: ['-- pgshift:no-transaction'],
      downMarkers: ['-- pgshift:no-transaction'],
    };
    const plan = await loadPlan(writeMigrations([tablePair(1), index]));
    await migrateUp(client, plan, options());
    expect(await tableExists(client, 'idx_t1_note')).toBe(true);
    expect(await ledgerVersions(client)).toEqual([1, 2]);
    const { rows } = await client.query(`SHOW lock_timeout`);
    expect(rows[0].lock_timeout).toBe('0');
    await migrateDown(client, plan, 1, options());
    expect(await tableExists(client, 'idx_t1_note')).toBe(false);
    expect(await ledgerVersions(client)).toEqual([1]);
  });

  it('enforces the lock wait budget: a migration blocked by another session fails naming it', async () => {
    const plan = await loadPlan(
      writeMigrations([
        tablePair(1),
        {
          version: 2,
          name: 'alter_t1',
          up: 'ALTER TABLE t1 ADD COLUMN IF NOT EXISTS extra text;',
          down: 'ALTER TABLE t1 DROP COLUMN IF EXISTS extra;',
        },
      ]),
    );
    await migrateUp(client, plan, { ...options(), to: 1 });
    const blocker = await open(url);
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE t1 IN ACCESS SHARE MODE');
      const pid = (await blocker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const started = Date.now();
      const error = await migrateUp(
        client,
        plan,
        options({ lockTimeout: '200ms', lockWaitMs: 1_000 }),
      ).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(LockWaitTimeoutError);
      expect((error as Error).message).toContain('002_alter_t1.sql: gave up after waiting');
      expect((error as Error).message).toContain(`pid ${pid} (`);
      expect((error as Error).message).toContain('holding AccessShareLock on t1');
    } finally {
      await blocker.end();
    }
    expect(await ledgerVersions(client)).toEqual([1]);
  });

  it('enforces statement_timeout', async () => {
    const slow = {
      version: 1,
      name: 'slow',
      up: 'SELECT pg_sleep(5);',
      down: 'SELECT 1;',
    };
    const plan = await loadPlan(writeMigrations([slow]));
    const error = await failure(migrateUp(client, plan, options({ statementTimeout: '100ms' })));
    expect(error.sqlState).toBe('57014');
  });

  it('rejects a malformed timeout before touching the database', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    await expect(
      migrateUp(client, plan, options({ lockTimeout: "5s'; DROP TABLE x; --" })),
    ).rejects.toThrow(/not a duration/);
  });
});

describe('migrate down', () => {
  it('rolls back newest first and keeps the target applied', async () => {
    const plan = await loadPlan(writeMigrations([1, 2, 3, 4].map(tablePair)));
    await migrateUp(client, plan, options());
    const result = await migrateDown(client, plan, 2, options());
    expect(result.results.map((r) => [r.version, r.direction, r.status])).toEqual([
      [4, 'down', 'Success'],
      [3, 'down', 'Success'],
    ]);
    expect(result).toMatchObject({ fromVersion: 4, toVersion: 2 });
    expect(await ledgerVersions(client)).toEqual([1, 2]);
    expect(await tableExists(client, 't2')).toBe(true);
    expect(await tableExists(client, 't3')).toBe(false);
  });

  it('rolls back everything with target 0', async () => {
    const plan = await loadPlan(writeMigrations([1, 2].map(tablePair)));
    await migrateUp(client, plan, options());
    await migrateDown(client, plan, 0, options());
    expect(await ledgerVersions(client)).toEqual([]);
    expect(await tableExists(client, 't1')).toBe(false);
  });

  it('changes nothing in a dry run', async () => {
    const plan = await loadPlan(writeMigrations([1, 2].map(tablePair)));
    await migrateUp(client, plan, options());
    const result = await migrateDown(client, plan, 0, { ...options(), dryRun: true });
    expect(result.results.map((r) => [r.version, r.status])).toEqual([
      [2, 'NotExecuted'],
      [1, 'NotExecuted'],
    ]);
    expect(result.toVersion).toBe(0);
    expect(await ledgerVersions(client)).toEqual([1, 2]);
  });
});

describe('applyMigration', () => {
  it('applies one file and its ledger row on a fresh database', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    const result = await applyMigration(client, plan.migrations[0], 'up', options());
    expect(result.status).toBe('Success');
    expect(await ledgerVersions(client)).toEqual([1]);
    await applyMigration(client, plan.migrations[0], 'down', options());
    expect(await ledgerVersions(client)).toEqual([]);
  });
});

describe('the shipped churn-saver migrations', () => {
  it('apply, roll back to 8 and to 0, and apply again', async () => {
    const plan = await loadPlan(shippedMigrations);
    const last = plan.migrations.at(-1)!.version;
    const up = await migrateUp(client, plan, options());
    expect(up.toVersion).toBe(last);
    expect(await tableExists(client, 'recovery_cases')).toBe(true);
    const down = await migrateDown(client, plan, 8, options());
    expect(down.toVersion).toBe(8);
    expect(down.results.every((r) => r.notices?.[0]?.startsWith('Rollback'))).toBe(true);
    expect(await tableExists(client, 'active_recovery_cases')).toBe(false);
    await migrateDown(client, plan, 0, options());
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`,
    );
    expect(rows[0].n).toBe(0);
    const again = await migrateUp(client, plan, options());
    expect(again.results.every((r) => r.status === 'Success')).toBe(true);
  });
});
