import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/migrations/files';
import { namesOfMigration } from '../../src/migrations/named-objects';
import { testAllRollbacks, testRollback } from '../../src/migrations/rollback-test';
import type { MigrationPlan } from '../../src/migrations/types';
import { testServerUrl } from '../support/databases';

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

let good: MigrationPlan;
let broken: MigrationPlan;
let unnamed: MigrationPlan;
let dependents: MigrationPlan;

beforeAll(async () => {
  good = await loadPlan(fixture('rollback-good'));
  broken = await loadPlan(fixture('rollback-broken'));
  unnamed = await loadPlan(fixture('rollback-unnamed'));
  dependents = await loadPlan(fixture('rollback-dependents'));
});

const FALLBACK =
  /^002_rollback\.sql: catalog rows outside the objects that 002_create_notes\.sql and 002_rollback\.sql name changed \(.*pg_class.*\): compared the whole schema instead$/;

describe('rollback proof scoped to what a migration names', () => {
  it('reads the names a migration mentions from its parse, dynamic SQL included', async () => {
    const names = await namesOfMigration(unnamed.migrations[0]);
    expect(names).toEqual(
      expect.arrayContaining(['orders', 'status', 'idx_orders_status', 'tidy_up']),
    );
    expect(await namesOfMigration(unnamed.migrations[1])).not.toContain('idx_orders_status');
  });

  it('proves correct rollbacks without comparing whole schemas', async () => {
    const report = await testAllRollbacks(testServerUrl(), good);
    expect(report.passed).toBe(true);
    expect(report.migrations.map((m) => m.notes)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('names residue inside the scope without comparing whole schemas', async () => {
    const report = await testAllRollbacks(testServerUrl(), broken);
    expect(report.migrations.map((m) => [m.version, m.differences, m.notes])).toEqual([
      [1, [], undefined],
      [2, ['002: index idx_cases_status still exists'], undefined],
      [3, ["003: default of cases.status was 'open', now none"], undefined],
      [4, [], undefined],
    ]);
  });
});

describe('catalog guard', () => {
  it('catches a rollback that changes an object its migration never names, and says it compared whole schemas (--all)', async () => {
    const report = await testAllRollbacks(testServerUrl(), unnamed);
    expect(report.passed).toBe(false);
    expect(report.migrations.map((m) => [m.version, m.status, m.differences])).toEqual([
      [1, 'passed', []],
      [2, 'failed', ['002: index idx_orders_status is missing']],
    ]);
    expect(report.migrations[0].notes).toBeUndefined();
    expect(report.migrations[1].notes).toEqual([expect.stringMatching(FALLBACK)]);
  });

  it('catches it in --migration=N too', async () => {
    const report = await testRollback(testServerUrl(), unnamed, { migration: 2 });
    expect(report.migrations[0]).toMatchObject({
      status: 'failed',
      differences: ['002: index idx_orders_status is missing'],
      notes: [expect.stringMatching(FALLBACK)],
    });
  });

  it('compares whole schemas when a residue inside the scope can show in the objects that depend on it', async () => {
    const report = await testAllRollbacks(testServerUrl(), dependents);
    expect(report.migrations[1]).toMatchObject({
      status: 'failed',
      differences: [
        '002: definition of view account_emails changed',
        '002: column accounts.email is missing',
        '002: column accounts.mail still exists',
      ],
      notes: [
        '002_rollback.sql: objects that 002_rename_email.sql or 002_rollback.sql names changed, and 1 other object depends on them: compared the whole schema instead',
      ],
    });
  });
});
