import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateDeps } from '../../src/lint/deps';
import type { Finding } from '../../src/migrations/types';
import { buildPlan, planFromFolder } from './build-plan';

const rules = (findings: Finding[]) => findings.map((f) => f.rule);
const only = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule);

const customers = {
  version: 1,
  forward: `CREATE TABLE IF NOT EXISTS customers (id bigserial PRIMARY KEY, email text NOT NULL);`,
  rollback: `-- WARNING: drops customers\nBEGIN;\nDROP TABLE IF EXISTS customers;\nCOMMIT;`,
};

describe('validate deps', () => {
  it("stays silent on the guide's example migration", async () => {
    const report = await validateDeps(
      planFromFolder(join(__dirname, '../fixtures/lint-guide-example')),
    );
    expect(report.findings).toEqual([]);
    expect(report.migrations[0].creates).toContain('table example_table');
  });

  it('reports a table referenced before the migration that creates it', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `-- header\n\nCREATE OR REPLACE VIEW open_cases AS\n  SELECT c.id FROM customers c\n  JOIN recovery_cases rc ON rc.customer_id = c.id;`,
          rollback: `DROP VIEW IF EXISTS open_cases;`,
        },
        {
          version: 3,
          forward: `CREATE TABLE IF NOT EXISTS recovery_cases (id bigserial PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id));`,
          rollback: `-- WARNING: data loss\nDROP TABLE IF EXISTS recovery_cases;`,
        },
      ]),
    );
    const [finding] = only(report.findings, 'deps/use-before-create');
    expect(finding).toMatchObject({ severity: 'error', file: '002_step_2.sql', line: 5 });
    expect(finding.message).toBe(
      'references table recovery_cases, which no migration creates before 002 (created in 003)',
    );
    expect(report.migrations.find((m) => m.version === 2)?.dependsOn).toEqual([1, 3]);
    expect(report.migrations.find((m) => m.version === 3)?.dependsOn).toEqual([1]);
    expect(report.cycles).toEqual([]);
  });

  it('reports a column used before the migration that adds it', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `CREATE INDEX IF NOT EXISTS idx_customers_region ON customers (region);`,
          rollback: `DROP INDEX IF EXISTS idx_customers_region;`,
        },
        {
          version: 3,
          forward: `ALTER TABLE customers ADD COLUMN IF NOT EXISTS region text;`,
          rollback: `-- WARNING: loses regions\nALTER TABLE customers DROP COLUMN IF EXISTS region;`,
        },
      ]),
    );
    expect(only(report.findings, 'deps/use-before-create').map((f) => f.message)).toEqual([
      'references column customers.region, which no migration creates before 002 (created in 003)',
    ]);
  });

  it('reports migrations that depend on each other as a cycle', async () => {
    const report = await validateDeps(
      buildPlan([
        {
          version: 1,
          forward: `CREATE OR REPLACE FUNCTION case_score(amount numeric) RETURNS numeric LANGUAGE sql AS $$ SELECT amount * 2 $$;\nCREATE OR REPLACE VIEW scored AS SELECT id, case_score(amount) FROM recovery_cases;`,
          rollback: `DROP VIEW IF EXISTS scored;\nDROP FUNCTION IF EXISTS case_score(numeric);`,
        },
        {
          version: 2,
          forward: `CREATE TABLE IF NOT EXISTS recovery_cases (id bigint PRIMARY KEY, amount numeric, score numeric GENERATED ALWAYS AS (case_score(amount)) STORED);`,
          rollback: `-- WARNING: data loss\nDROP TABLE IF EXISTS recovery_cases;`,
        },
      ]),
    );
    expect(report.cycles).toEqual([[1, 2]]);
    const [cycle] = only(report.findings, 'deps/cycle');
    expect(cycle.severity).toBe('error');
    expect(cycle.message).toContain('migrations 001, 002 depend on each other');
    expect(cycle.message).toContain('001 uses table recovery_cases (created in 002)');
    expect(cycle.message).toContain('002 uses function case_score (created in 001)');
  });

  it('reports a rollback that drops a table an earlier migration created', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `CREATE TABLE IF NOT EXISTS subscriptions (id bigserial PRIMARY KEY, customer_id bigint REFERENCES customers (id));`,
          rollback: `-- WARNING: data loss\nDROP TABLE IF EXISTS subscriptions;`,
        },
        {
          version: 3,
          forward: `ALTER TABLE customers ADD COLUMN IF NOT EXISTS region text;`,
          rollback: `-- WARNING: data loss\nBEGIN;\nDROP TABLE IF EXISTS customers CASCADE;\nCOMMIT;`,
        },
      ]),
    );
    const [finding] = only(report.findings, 'deps/rollback-drops-foreign-object');
    expect(finding).toMatchObject({ severity: 'error', file: '003_rollback.sql', line: 3 });
    expect(finding.message).toContain(
      'drops table customers, which 001_step_1.sql created, not 003',
    );
    expect(finding.message).toContain('used by 002');
  });

  it('accepts rollbacks that drop only what their migration created', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `ALTER TABLE customers ADD COLUMN IF NOT EXISTS region text;\nCREATE INDEX IF NOT EXISTS idx_region ON customers (region);`,
          rollback: `-- WARNING: data loss\nDROP INDEX IF EXISTS idx_region;\nALTER TABLE customers DROP COLUMN IF EXISTS region;`,
        },
      ]),
    );
    expect(report.findings).toEqual([]);
  });

  it('reports a rollback that references an object missing when it runs', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `ALTER TABLE customers ADD COLUMN IF NOT EXISTS region text;`,
          rollback: `DROP INDEX idx_segment;\nALTER TABLE customers DROP COLUMN IF EXISTS region;`,
        },
        {
          version: 3,
          forward: `CREATE INDEX IF NOT EXISTS idx_segment ON customers (email);`,
          rollback: `DROP INDEX IF EXISTS idx_segment;`,
        },
      ]),
    );
    const [finding] = only(report.findings, 'deps/rollback-missing-object');
    expect(finding.file).toBe('002_rollback.sql');
    expect(finding.message).toContain(
      'drops index idx_segment, which does not exist when 002 is rolled back',
    );
  });

  it('warns when a rollback leaves behind what its migration created', async () => {
    const report = await validateDeps(
      buildPlan([
        customers,
        {
          version: 2,
          forward: `CREATE INDEX IF NOT EXISTS idx_email ON customers (email);`,
          rollback: `SELECT 1;`,
        },
      ]),
    );
    expect(only(report.findings, 'deps/rollback-incomplete')).toMatchObject([
      {
        severity: 'warning',
        file: '002_rollback.sql',
        message: expect.stringContaining('does not drop index idx_email'),
      },
    ]);
  });

  it('warns about objects no migration creates, but not about built-ins', async () => {
    const report = await validateDeps(
      buildPlan([
        {
          version: 1,
          forward: `CREATE TABLE IF NOT EXISTS events (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), at timestamptz DEFAULT now(), payload jsonb, n int4 DEFAULT nextval('legacy_seq'));\nINSERT INTO events (payload) SELECT to_jsonb(l) FROM legacy_events l;`,
          rollback: `-- WARNING: data loss\nDROP TABLE IF EXISTS events;`,
        },
      ]),
    );
    expect(rules(report.findings)).toEqual(['deps/unknown-object', 'deps/unknown-object']);
    expect(report.findings.map((f) => f.object)).toEqual([
      'sequence legacy_seq',
      'table legacy_events',
    ]);
    expect(report.findings.every((f) => f.severity === 'warning')).toBe(true);
  });

  it('reads objects created inside a DO block', async () => {
    const report = await validateDeps(
      buildPlan([
        {
          version: 1,
          forward: `DO $$\nBEGIN\n  CREATE TYPE case_status AS ENUM ('open', 'closed');\nEXCEPTION WHEN duplicate_object THEN NULL;\nEND $$;`,
          rollback: `DROP TYPE IF EXISTS case_status;`,
        },
        {
          version: 2,
          forward: `CREATE TABLE IF NOT EXISTS cases (id bigint PRIMARY KEY, status case_status NOT NULL DEFAULT 'open');`,
          rollback: `-- WARNING: data loss\nDROP TABLE IF EXISTS cases;`,
        },
      ]),
    );
    expect(report.findings).toEqual([]);
    expect(report.migrations[1].dependsOn).toEqual([1]);
  });

  it('reports a syntax error with its line instead of failing', async () => {
    const report = await validateDeps(
      buildPlan([{ version: 1, forward: `SELECT 1;\nCREATE TABLE x (;`, rollback: `SELECT 1;` }]),
    );
    expect(report.findings).toMatchObject([{ rule: 'deps/syntax', severity: 'error', line: 2 }]);
  });
});
