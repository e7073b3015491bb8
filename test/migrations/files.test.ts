import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrationFileError } from '../../src/migrations/errors';
import { loadMigrations, loadPlan, planChecksum } from '../../src/migrations/files';
import type { Finding } from '../../src/migrations/types';
import {
  forwardText,
  rollbackText,
  shippedMigrations,
  tablePair,
  writeMigrations,
} from './fixtures';

const rules = (findings: Finding[]) => findings.map((f) => `${f.file}:${f.line} ${f.rule}`);

describe('loadMigrations', () => {
  it('loads the shipped churn-saver set without findings', async () => {
    const { plan, findings } = await loadMigrations(shippedMigrations);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(plan.migrations.length).toBeGreaterThanOrEqual(12);
    expect(plan.migrations.map((m) => m.version)).toEqual(
      plan.migrations.map((_, index) => index + 1),
    );
    const concurrent = plan.migrations.find((m) => m.name === 'add_events_unprocessed_index')!;
    expect(concurrent.forward.transactional).toBe(false);
    expect(plan.migrations.some((m) => m.highRisk)).toBe(true);
    expect(plan.migrations[0].forward.header).toMatchObject({
      migration: '001_create_customers.sql',
      date: '2024-03-04',
    });
  });

  it('reports a forward file without rollback', async () => {
    const dir = writeMigrations([tablePair(1)], {
      '002_create_t2.sql': forwardText(tablePair(2)),
    });
    const { plan, findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual(['002_create_t2.sql:1 missing-rollback']);
    expect(findings[0].message).toContain('002_rollback.sql');
    expect(plan.migrations.map((m) => m.version)).toEqual([1]);
  });

  it('reports a rollback without forward file', async () => {
    const dir = writeMigrations([tablePair(1)], { '002_rollback.sql': rollbackText(tablePair(2)) });
    const { findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual(['002_rollback.sql:1 orphan-rollback']);
  });

  it('reports duplicate numbers naming both files', async () => {
    const other = { ...tablePair(2), name: 'other_thing' };
    const dir = writeMigrations([tablePair(1), tablePair(2)], {
      '002_other_thing.sql': forwardText(other),
    });
    const { plan, findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual([
      '002_create_t2.sql:1 duplicate-version',
      '002_other_thing.sql:1 duplicate-version',
    ]);
    expect(findings[0].message).toContain('002_create_t2.sql, 002_other_thing.sql');
    expect(plan.migrations.map((m) => m.version)).toEqual([1]);
  });

  it('reports a gap in the numbering', async () => {
    const dir = writeMigrations([tablePair(1), tablePair(2), tablePair(4)]);
    const { findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual(['004_create_t4.sql:1 version-gap']);
    expect(findings[0].message).toContain('no migration 003');
  });

  it('accepts a set that starts above 1', async () => {
    const dir = writeMigrations([tablePair(100), tablePair(101)]);
    expect((await loadMigrations(dir)).findings).toEqual([]);
  });

  it('reports bad file names', async () => {
    const dir = writeMigrations([tablePair(1)], {
      '2_short.sql': 'SELECT 1;',
      '003-dash.sql': 'SELECT 1;',
      'notes.txt': 'ignored',
    });
    const { findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual([
      '003-dash.sql:1 bad-file-name',
      '2_short.sql:1 bad-file-name',
    ]);
  });

  it('reports malformed, empty and missing headers with their lines', async () => {
    const text = [
      '-- Migration 001_create_t1.sql',
      '-- Description:',
      '-- Date: 2024-13-45',
      '',
      'CREATE TABLE IF NOT EXISTS t1 (id bigint);',
    ].join('\n');
    const dir = writeMigrations([], {
      '001_create_t1.sql': text,
      '001_rollback.sql': rollbackText(tablePair(1)),
    });
    const { plan, findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual([
      '001_create_t1.sql:1 malformed-header',
      '001_create_t1.sql:1 missing-header',
      '001_create_t1.sql:2 empty-header',
      '001_create_t1.sql:3 malformed-header',
    ]);
    expect(findings.find((f) => f.rule === 'missing-header')!.object).toBe('Author');
    expect(findings[3].message).toContain('YYYY-MM-DD');
    expect(plan.migrations).toEqual([]);
  });

  it('reports a -- Migration: header that names another file', async () => {
    const dir = writeMigrations([], {
      '001_create_t1.sql': forwardText(tablePair(1)).replace(
        'Migration: 001_create_t1.sql',
        'Migration: 001_create_t9.sql',
      ),
      '001_rollback.sql': rollbackText(tablePair(1)),
    });
    const { findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual(['001_create_t1.sql:1 header-mismatch']);
  });

  it('reports a rollback whose Reverses migration points at the wrong file', async () => {
    const dir = writeMigrations([tablePair(1)]);
    const dir2 = writeMigrations([], {
      '001_create_t1.sql': forwardText(tablePair(1)),
      '001_rollback.sql': readFileSync(join(dir, '001_rollback.sql'), 'utf8').replace(
        'Reverses migration: 001_create_t1.sql',
        'Reverses migration: 002_create_t2.sql',
      ),
    });
    const { findings } = await loadMigrations(dir2);
    expect(rules(findings)).toEqual(['001_rollback.sql:2 wrong-reverses']);
    expect(findings[0].message).toContain('must be "001_create_t1.sql"');
  });

  it('reports a SQL syntax error at its file and line', async () => {
    const broken = {
      ...tablePair(1),
      up: "-- naïve comment with ünïcode\nSELECT 'é';\nCREATE TABLE t1 (id bigint,\n  note txt extra);",
    };
    const dir = writeMigrations([broken]);
    const { findings } = await loadMigrations(dir);
    expect(rules(findings)).toEqual(['001_create_t1.sql:9 sql-syntax']);
    expect(findings[0].message).toContain('syntax error at or near "extra"');
  });

  it('checks only the forward files SQL for migrate up, and every file otherwise', async () => {
    const brokenRollback = { ...tablePair(1), down: 'DROP TABLE IF EXISTS t1 extra;' };
    const dir = writeMigrations([brokenRollback, tablePair(2)]);
    expect(rules((await loadMigrations(dir)).findings)).toEqual(['001_rollback.sql:6 sql-syntax']);
    const forUp = await loadMigrations(dir, { sqlCheck: 'forward' });
    expect(forUp.findings).toEqual([]);
    expect(forUp.plan.migrations.map((m) => m.version)).toEqual([1, 2]);
  });

  it('refuses ROLLBACK and CONCURRENTLY in a transactional file', async () => {
    const pair = {
      ...tablePair(1),
      up: 'CREATE TABLE IF NOT EXISTS t1 (id bigint);\nROLLBACK;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS i1 ON t1 (id);',
    };
    const { findings } = await loadMigrations(writeMigrations([pair]));
    expect(rules(findings)).toEqual([
      '001_create_t1.sql:7 transaction-control',
      '001_create_t1.sql:8 needs-no-transaction',
    ]);
  });

  it('accepts CONCURRENTLY in a file marked no-transaction', async () => {
    const pair = {
      ...tablePair(1),
      up: 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i1 ON t1 (id);',
      upMarkers: ['-- pgshift:no-transaction'],
    };
    const { plan, findings } = await loadMigrations(writeMigrations([pair]));
    expect(findings).toEqual([]);
    expect(plan.migrations[0].forward.transactional).toBe(false);
    expect(plan.migrations[0].rollback.transactional).toBe(true);
  });

  it('collects every problem of a folder at once', async () => {
    const dir = writeMigrations([tablePair(1), tablePair(3)], {
      '004_create_t4.sql': forwardText(tablePair(4)),
      '005_rollback.sql': rollbackText(tablePair(5)),
    });
    const { findings } = await loadMigrations(dir);
    expect(findings.map((f) => f.rule).sort()).toEqual([
      'missing-rollback',
      'orphan-rollback',
      'version-gap',
    ]);
  });
});

describe('loadPlan', () => {
  it('throws MigrationFileError listing every error with file:line', async () => {
    const dir = writeMigrations([tablePair(1), tablePair(3)], {
      '004_create_t4.sql': forwardText(tablePair(4)),
    });
    const error = await loadPlan(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationFileError);
    const message = (error as Error).message;
    expect(message).toContain('003_create_t3.sql:1: numbering has a gap');
    expect(message).toContain('004_create_t4.sql:1: migration 004_create_t4.sql has no rollback');
    expect((error as MigrationFileError).exitCode).toBe(1);
  });

  it('changes the plan checksum when any file changes', async () => {
    const a = await loadPlan(writeMigrations([tablePair(1), tablePair(2)]));
    const edited = { ...tablePair(2), down: tablePair(2).down + '\n-- reviewed' };
    const b = await loadPlan(writeMigrations([tablePair(1), edited]));
    expect(a.checksum).toBe(planChecksum(a.migrations));
    expect(a.checksum).not.toBe(b.checksum);
    expect(a.migrations[0].forward.checksum).toBe(b.migrations[0].forward.checksum);
  });
});
