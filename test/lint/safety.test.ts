import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assessRisk, lintSafety, type SafetyReport } from '../../src/lint/safety';
import type { Finding, MigrationPlan } from '../../src/migrations/types';
import { buildPlan, planFromFolder } from './build-plan';

const secrets = {
  rolePassword: 'hunter2-very-secret',
  urlPassword: 'S3cr3tPassw0rd',
  aws: 'AKIAIOSFODNN7EXAMPLE',
  github: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  slack: 'xoxb-123456789012-abcdefghijkl',
  stripe: 'sk_live_abcdefghijklmnop1234',
};

/** One plan holding a bad example for each rule, linted once (Squawk runs once). */
const unsafePlan = buildPlan([
  {
    version: 1,
    forward: `CREATE TABLE IF NOT EXISTS customers (id bigint PRIMARY KEY, email text);
CREATE INDEX IF NOT EXISTS idx_new_table ON customers (email);`,
    rollback: `-- WARNING: loses every customer
BEGIN;
DROP TABLE IF EXISTS customers;
COMMIT;`,
  },
  {
    version: 2,
    forward: `CREATE TABLE orders (id bigint PRIMARY KEY);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS tier text NOT NULL;
CREATE INDEX IF NOT EXISTS idx_customers_email ON customers (email);
ALTER TABLE customers ALTER COLUMN email TYPE varchar(320);
ALTER TABLE customers ADD CONSTRAINT fk_orders FOREIGN KEY (id) REFERENCES orders (id);
ALTER TABLE customers ADD COLUMN IF NOT EXISTS seed float8 DEFAULT random();`,
    rollback: `ALTER TABLE customers DROP COLUMN IF EXISTS seed;
DROP TABLE IF EXISTS orders;`,
  },
  {
    version: 3,
    forward: `-- WARNING: legacy_notes and every customer are deleted for good
DROP TABLE IF EXISTS legacy_notes;

DELETE FROM customers;`,
    rollback: `BEGIN;\nSELECT 1;\nCOMMIT;`,
  },
  {
    version: 4,
    forward: `-- connect with postgres://app:${secrets.urlPassword}@db.internal/prod
CREATE ROLE app_user LOGIN PASSWORD '${secrets.rolePassword}';
COMMENT ON ROLE app_user IS 'aws ${secrets.aws} gh ${secrets.github}';
-- slack ${secrets.slack} stripe ${secrets.stripe}
-- -----BEGIN RSA PRIVATE KEY-----
-- password = :app_password
`,
    rollback: `BEGIN;\nDROP ROLE IF EXISTS app_user;\nCOMMIT;`,
  },
  {
    version: 5,
    forward: `CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_tier ON customers (tier);`,
    rollback: `BEGIN;\nDROP INDEX IF EXISTS idx_customers_tier;\nCOMMIT;`,
  },
  {
    version: 6,
    forward: `-- pgshift:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS idx_customers_seed ON customers (seed);`,
    rollback: `-- pgshift:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS idx_customers_seed;`,
  },
  {
    version: 7,
    forward: `SELECT 1;
DELETE FROM customers;
-- WARNING: wipes the staging schema
DROP SCHEMA IF EXISTS staging CASCADE;
TRUNCATE customers;
DELETE FROM customers WHERE email IS NULL;`,
    rollback: `BEGIN;\nSELECT 1;\nCOMMIT;`,
  },
]);

const at = (report: SafetyReport, file: string, line?: number) =>
  report.findings.filter((f) => f.file === file && (line === undefined || f.line === line));
const ruleAt = (
  report: SafetyReport,
  rule: string,
  file: string,
  line?: number,
): Finding | undefined => at(report, file, line).find((f) => f.rule === rule);

describe('validate safety', () => {
  let report: SafetyReport;
  let guide: SafetyReport;
  let guidePlan: MigrationPlan;

  beforeAll(async () => {
    guidePlan = planFromFolder(join(__dirname, '../fixtures/lint-guide-example'));
    [report, guide] = await Promise.all([lintSafety(unsafePlan), lintSafety(guidePlan)]);
  });

  describe("on the guide's example files", () => {
    it('passes with warnings at most', () => {
      expect(guide.findings.filter((f) => f.severity === 'error')).toEqual([]);
    });

    it('ignores what the runner handles itself (timeouts, BEGIN/COMMIT) and acknowledged rollback drops', () => {
      expect(guide.findings).toEqual([]);
      expect(guide.suppressed).toMatchObject({
        'require-lock-timeout': expect.any(Number),
        'transaction-nesting': 2,
        'ban-drop-table': 1,
      });
    });

    it('is not high risk', () => {
      expect(assessRisk(guidePlan, guide.findings)).toEqual({
        highRisk: false,
        reasons: [],
        versions: [],
      });
    });
  });

  describe('guide rules', () => {
    it('warns about statements that cannot be rerun', () => {
      expect(ruleAt(report, 'guide/idempotent', '002_step_2.sql', 1)).toMatchObject({
        severity: 'warning',
        message: expect.stringContaining(
          'CREATE TABLE orders is not idempotent: use CREATE TABLE IF NOT EXISTS',
        ),
      });
      expect(report.findings.filter((f) => f.rule === 'guide/idempotent')).toHaveLength(1);
    });

    it('warns when a transactional rollback has no BEGIN/COMMIT', () => {
      expect(ruleAt(report, 'guide/transaction', '002_rollback.sql')).toMatchObject({
        severity: 'warning',
      });
      expect(ruleAt(report, 'guide/transaction', '001_rollback.sql')).toBeUndefined();
      expect(ruleAt(report, 'guide/transaction', '006_rollback.sql')).toBeUndefined();
    });

    it('requires a data-loss WARNING comment on every destructive statement', () => {
      const missing = report.findings.filter((f) => f.rule === 'guide/data-loss-warning');
      expect(missing.map((f) => `${f.file}:${f.line} ${f.object}`)).toEqual([
        '002_rollback.sql:1 DROP COLUMN customers.seed',
        '002_rollback.sql:2 DROP TABLE orders',
        '007_step_7.sql:2 DELETE FROM customers without WHERE',
        '007_step_7.sql:5 TRUNCATE customers',
      ]);
      expect(missing.every((f) => f.severity === 'error')).toBe(true);
      const acknowledged = report.findings.filter((f) => f.rule === 'guide/destructive');
      expect(acknowledged.map((f) => `${f.file}:${f.line} ${f.object}`)).toEqual([
        '003_step_3.sql:2 DROP TABLE legacy_notes',
        '003_step_3.sql:4 DELETE FROM customers without WHERE',
        '007_step_7.sql:4 DROP SCHEMA staging CASCADE',
      ]);
      expect(acknowledged.every((f) => f.severity === 'warning' && f.highRisk)).toBe(true);
    });

    it('rejects ADD COLUMN NOT NULL without DEFAULT on an existing table', () => {
      expect(ruleAt(report, 'guide/not-null-without-default', '002_step_2.sql', 2)).toMatchObject({
        severity: 'error',
        object: 'customers.tier',
      });
    });

    it('warns about a non-concurrent index build on an existing table only', () => {
      expect(ruleAt(report, 'guide/concurrent-index', '002_step_2.sql', 3)?.message).toContain(
        '-- pgshift:no-transaction',
      );
      expect(ruleAt(report, 'guide/concurrent-index', '001_step_1.sql')).toBeUndefined();
    });

    it('rejects CONCURRENTLY in a transactional file and accepts it with the no-transaction marker', () => {
      expect(
        ruleAt(report, 'guide/concurrently-in-transaction', '005_step_5.sql', 1),
      ).toMatchObject({
        severity: 'error',
      });
      expect(at(report, '006_step_6.sql')).toEqual([]);
      expect(at(report, '006_rollback.sql')).toEqual([]);
    });

    it('warns about column type changes and validated foreign keys on existing tables', () => {
      expect(ruleAt(report, 'guide/alter-column-type', '002_step_2.sql', 4)).toMatchObject({
        severity: 'warning',
      });
      expect(ruleAt(report, 'guide/foreign-key-not-valid', '002_step_2.sql', 5)).toMatchObject({
        severity: 'warning',
      });
    });
  });

  describe('secrets', () => {
    it('reports each kind of secret with its line', () => {
      const found = at(report, '004_step_4.sql').filter((f) => f.rule === 'guide/no-secrets');
      expect(found.map((f) => f.line)).toEqual([1, 2, 3, 3, 4, 4, 5]);
      expect(found.every((f) => f.severity === 'error')).toBe(true);
      expect(found.map((f) => f.message.split(' in a migration')[0])).toEqual([
        'connection string with a password',
        'role password',
        'AWS access key id',
        'GitHub token',
        'Slack token',
        'Stripe live key',
        'private key',
      ]);
    });

    it('never prints a secret in full', () => {
      const text = JSON.stringify(report.findings);
      for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    });
  });

  describe('squawk', () => {
    it('runs the real linter and maps its rules', () => {
      expect(ruleAt(report, 'squawk/adding-field-with-default', '002_step_2.sql', 6)).toMatchObject(
        {
          severity: 'warning',
          highRisk: true,
        },
      );
    });

    it('leaves out rules the runner makes moot', () => {
      expect(report.findings.some((f) => f.rule === 'squawk/require-lock-timeout')).toBe(false);
      expect(report.suppressed['require-lock-timeout']).toBeGreaterThan(0);
    });

    it('keeps drops in rollbacks without a warning comment', () => {
      expect(ruleAt(report, 'squawk/ban-drop-table', '002_rollback.sql', 2)).toBeDefined();
      expect(ruleAt(report, 'squawk/ban-drop-table', '001_rollback.sql')).toBeUndefined();
    });
  });

  describe('risk assessment', () => {
    it('marks destructive and lock-heavy migrations as high risk, with reasons', () => {
      const risk = assessRisk(unsafePlan, report.findings);
      expect(risk.highRisk).toBe(true);
      expect(risk.versions).toEqual([2, 3, 7]);
      expect(risk.reasons).toContain('003_step_3.sql:2: guide/destructive DROP TABLE legacy_notes');
      expect(risk.reasons).toContain(
        '002_step_2.sql:2: guide/not-null-without-default customers.tier',
      );
    });

    it('honours the high-risk marker', () => {
      const plan = buildPlan([
        {
          version: 8,
          forward: '-- pgshift:high-risk\nSELECT 1;',
          rollback: 'BEGIN;\nSELECT 1;\nCOMMIT;',
        },
      ]);
      expect(assessRisk(plan, [])).toEqual({
        highRisk: true,
        reasons: ['008_step_8.sql: marked -- pgshift:high-risk'],
        versions: [8],
      });
    });
  });
});
