import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/migrations/files';
import { Client } from 'pg';
import {
  ABANDONED_AFTER_MS,
  SCRATCH_PREFIX,
  scratchName,
} from '../../src/migrations/scratch-database';
import {
  testAllRollbacks,
  testRollback,
  type RollbackTestProgress,
} from '../../src/migrations/rollback-test';
import { testRollbacksDryRun } from '../../src/migrations/rollback-dry-run';
import type { MigrationPlan } from '../../src/migrations/types';
import { createTestDatabase, query, testServerUrl, withDatabaseName } from '../support/databases';

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

let good: MigrationPlan;
let broken: MigrationPlan;
let failing: MigrationPlan;

async function scratchDatabases(): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    testServerUrl(),
    `SELECT datname FROM pg_database WHERE datname LIKE $1`,
    [`${SCRATCH_PREFIX}%`],
  );
  return rows.map((r) => r.datname);
}

beforeAll(async () => {
  good = await loadPlan(fixture('rollback-good'));
  broken = await loadPlan(fixture('rollback-broken'));
  failing = await loadPlan(fixture('rollback-error'));
});

afterEach(async () => {
  expect(await scratchDatabases()).toEqual([]);
});

describe('test rollback --migration=N', () => {
  it('passes when the rollback restores the schema and the migration reruns', async () => {
    const report = await testRollback(testServerUrl(), good, { migration: 3 });
    expect(report.passed).toBe(true);
    expect(report.migrations).toEqual([
      expect.objectContaining({
        version: 3,
        name: 'limit_customer_region',
        status: 'passed',
        differences: [],
      }),
    ]);
  });

  it('fails naming the index a rollback leaves behind', async () => {
    const report = await testRollback(testServerUrl(), broken, { migration: 2 });
    expect(report.passed).toBe(false);
    expect(report.migrations[0]).toMatchObject({
      status: 'failed',
      differences: ['002: index idx_cases_status still exists'],
    });
  });

  it('fails naming the default a rollback does not restore', async () => {
    const report = await testRollback(testServerUrl(), broken, { migration: 3 });
    expect(report.migrations[0].differences).toEqual([
      "003: default of cases.status was 'open', now none",
    ]);
  });

  it('reports a rollback that throws as a failure with file:line, not a crash', async () => {
    const report = await testRollback(testServerUrl(), failing, { migration: 2 });
    expect(report.passed).toBe(false);
    expect(report.migrations[0].status).toBe('failed');
    expect(report.migrations[0].error).toContain('002_rollback.sql:9');
    expect(report.migrations[0].error).toContain(
      'column "sourc" of relation "events" does not exist',
    );
  });

  it('refuses a migration number that is not in the folder', async () => {
    await expect(testRollback(testServerUrl(), good, { migration: 42 })).rejects.toThrow(
      /migration 42 is not in the migrations folder/,
    );
  });

  it('creates its scratch database on the test server and never touches DATABASE_URL', async () => {
    const appUrl = await createTestDatabase('app');
    await query(appUrl, 'CREATE TABLE keep_me (id int)');
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = appUrl;
    try {
      const report = await testRollback(testServerUrl(), good, { migration: 2 });
      expect(report.passed).toBe(true);
    } finally {
      process.env.DATABASE_URL = saved;
    }
    const tables = await query<{ name: string }>(
      appUrl,
      `SELECT schemaname || '.' || tablename AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((t) => t.name)).toEqual(['public.keep_me']);
  });
});

describe('test rollback --all', () => {
  it('passes every rollback of a correct set, including a no-transaction index', async () => {
    const progress: RollbackTestProgress[] = [];
    const report = await testAllRollbacks(testServerUrl(), good, {
      onProgress: (p) => progress.push(p),
    });
    expect(report.passed).toBe(true);
    expect(report.migrations.map((m) => [m.version, m.status])).toEqual([
      [1, 'passed'],
      [2, 'passed'],
      [3, 'passed'],
      [4, 'passed'],
      [5, 'passed'],
    ]);
    expect(progress.filter((p) => p.phase === 'done').map((p) => `${p.index}/${p.total}`)).toEqual([
      '0/5',
      '1/5',
      '2/5',
      '3/5',
      '4/5',
    ]);
  });

  it('names the residue of each broken rollback and goes on testing the later ones', async () => {
    const report = await testAllRollbacks(testServerUrl(), broken);
    expect(report.passed).toBe(false);
    expect(report.migrations.map((m) => [m.version, m.status, m.differences])).toEqual([
      [1, 'passed', []],
      [2, 'failed', ['002: index idx_cases_status still exists']],
      [3, 'failed', ["003: default of cases.status was 'open', now none"]],
      [4, 'passed', []],
    ]);
  });

  it('rebuilds after a rollback that throws and still tests the migrations after it', async () => {
    const report = await testAllRollbacks(testServerUrl(), failing);
    expect(report.migrations.map((m) => [m.version, m.status])).toEqual([
      [1, 'passed'],
      [2, 'failed'],
      [3, 'passed'],
    ]);
    expect(report.migrations[1].error).toMatch(/^002_rollback\.sql:9: column "sourc"/);
  });
});

describe('test rollback --dry-run', () => {
  it('runs every rollback in a transaction that is rolled back and leaves nothing', async () => {
    const report = await testRollbacksDryRun(testServerUrl(), good);
    expect(report.passed).toBe(true);
    expect(report.unchanged).toBe(true);
    expect(report.migrations.every((m) => m.status === 'passed')).toBe(true);
    expect(report.migrations[3].notes).toEqual([
      '004_rollback.sql:7: ran without CONCURRENTLY inside the dry-run transaction',
    ]);
  });

  it('reports the residue of broken rollbacks once each', async () => {
    const report = await testRollbacksDryRun(testServerUrl(), broken);
    expect(report.unchanged).toBe(true);
    expect(report.migrations.map((m) => [m.version, m.status, m.differences])).toEqual([
      [1, 'passed', []],
      [2, 'failed', ['002: index idx_cases_status still exists']],
      [3, 'failed', ["003: default of cases.status was 'open', now none"]],
      [4, 'passed', []],
    ]);
  });

  it('reports a rollback that throws with file:line and skips the ones below it', async () => {
    const report = await testRollbacksDryRun(testServerUrl(), failing);
    expect(report.unchanged).toBe(true);
    expect(report.migrations.map((m) => [m.version, m.status])).toEqual([
      [1, 'skipped'],
      [2, 'failed'],
      [3, 'passed'],
    ]);
    expect(report.migrations[1].error).toMatch(/^002_rollback\.sql:9: column "sourc"/);
  });
});

describe('scratch databases of killed runs', () => {
  it('are dropped by the next run once abandoned; recent or connected ones are kept', async () => {
    const old = Date.now() - ABANDONED_AFTER_MS - 60_000;
    const abandoned = scratchName(old);
    const connected = scratchName(old);
    const recent = scratchName();
    for (const name of [abandoned, connected, recent])
      await query(testServerUrl(), `CREATE DATABASE "${name}"`);
    const session = new Client(withDatabaseName(testServerUrl(), connected));
    await session.connect();
    try {
      const report = await testRollback(testServerUrl(), good, { migration: 2 });
      expect(report.passed).toBe(true);
      expect((await scratchDatabases()).sort()).toEqual([connected, recent].sort());
    } finally {
      await session.end();
      for (const name of [connected, recent])
        await query(testServerUrl(), `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });
});
