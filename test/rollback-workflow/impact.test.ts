import { beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/migrations/database';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import { findDataLosingStatements } from '../../src/rollback/data-loss';
import { assessRollbackImpact, describeLoss } from '../../src/rollback/impact';
import { compareWithGuide, formatSeconds } from '../../workflows/incident-report';
import { chooseRollback, guideTimeFor } from '../../workflows/emergency-rollback';
import { createTestDatabase, query } from '../support/databases';
import { loadPlan, SHIPPED_MIGRATIONS } from './rollback-stack';

let plan: MigrationPlan;
beforeAll(async () => {
  plan = await loadPlan(SHIPPED_MIGRATIONS);
});

describe('finding the statements of a rollback file that lose data', () => {
  it('reads DROP TABLE, DROP COLUMN, TRUNCATE and DELETE with their lines, and nothing else', async () => {
    const sql = [
      'BEGIN;',
      'DROP INDEX IF EXISTS idx_a;',
      'DROP VIEW IF EXISTS open_cases;',
      'DROP TABLE IF EXISTS audit_log, archive.events_2024;',
      'ALTER TABLE customers DROP COLUMN IF EXISTS segment, DROP COLUMN region;',
      'ALTER TABLE customers ALTER COLUMN email DROP NOT NULL;',
      'TRUNCATE notifications;',
      "DELETE FROM events WHERE source = 'test';",
      'COMMIT;',
    ].join('\n');
    expect(await findDataLosingStatements('009_rollback.sql', sql)).toEqual([
      { kind: 'drop-table', table: 'audit_log', file: '009_rollback.sql', line: 4 },
      {
        kind: 'drop-table',
        schema: 'archive',
        table: 'events_2024',
        file: '009_rollback.sql',
        line: 4,
      },
      {
        kind: 'drop-column',
        table: 'customers',
        column: 'segment',
        file: '009_rollback.sql',
        line: 5,
      },
      {
        kind: 'drop-column',
        table: 'customers',
        column: 'region',
        file: '009_rollback.sql',
        line: 5,
      },
      { kind: 'truncate', table: 'notifications', file: '009_rollback.sql', line: 7 },
      { kind: 'delete', table: 'events', file: '009_rollback.sql', line: 8 },
    ]);
  });

  it('counts a file that does not parse as possibly losing data', async () => {
    expect(await findDataLosingStatements('x.sql', 'DROP TABLE (;')).toEqual([
      expect.objectContaining({ kind: 'unknown', reason: expect.stringMatching(/does not parse/) }),
    ]);
  });
});

describe('data loss fails closed', () => {
  const kindsOf = async (sql: string) =>
    (await findDataLosingStatements('r.sql', sql)).map((d) => [d.kind, d.reason]);

  it('counts DROP SCHEMA … CASCADE, saying it drops every table in the schema', async () => {
    expect(await kindsOf('DROP SCHEMA archive CASCADE;')).toEqual([
      ['drop-schema', expect.stringMatching(/drops every table in the schema/)],
    ]);
    expect(await kindsOf('DROP SCHEMA IF EXISTS archive;')).toEqual([]);
  });

  it('counts DROP TYPE … CASCADE, saying it drops the columns of that type', async () => {
    expect(await kindsOf('DROP TYPE mood CASCADE;')).toEqual([
      ['drop-type', expect.stringMatching(/drops every column of that type/)],
    ]);
    expect(await kindsOf('DROP TYPE mood;')).toEqual([]);
  });

  it('counts a DO block with EXECUTE, saying the SQL is built at run time', async () => {
    expect(
      await kindsOf(`DO $$ BEGIN EXECUTE format('DROP TABLE %I', 'audit_log'); END $$;`),
    ).toEqual([['dynamic-sql', expect.stringMatching(/EXECUTE runs SQL built at run time/)]]);
  });

  it('reads the SQL inside a DO block and keeps a block that only reports', async () => {
    expect(await kindsOf(`DO $$ BEGIN DELETE FROM events; END $$;`)).toEqual([
      ['delete', 'in a DO block: delete'],
    ]);
    expect(await kindsOf(`DO $$ BEGIN RAISE NOTICE 'Rollback % completed', 3; END $$;`)).toEqual(
      [],
    );
    expect(await kindsOf(`DO $$ BEGIN PERFORM purge_everything(); END $$;`)).toEqual([
      ['dynamic-sql', expect.stringMatching(/perform/)],
    ]);
  });

  it('counts UPDATE and INSERT … ON CONFLICT DO UPDATE, which overwrite stored values', async () => {
    expect(await kindsOf(`UPDATE customers SET region = NULL;`)).toEqual([
      ['update', 'UPDATE overwrites stored values'],
    ]);
    expect(
      await kindsOf(`INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = 2;`),
    ).toEqual([['update', expect.stringMatching(/ON CONFLICT DO UPDATE/)]]);
  });

  it('counts DELETE, whatever its WHERE clause', async () => {
    expect(await kindsOf(`DELETE FROM events WHERE id < 0;`)).toEqual([['delete', undefined]]);
  });

  it('counts ALTER COLUMN … TYPE, which converts every stored value', async () => {
    expect(await kindsOf('ALTER TABLE customers ALTER COLUMN region TYPE varchar(2);')).toEqual([
      ['alter-column-type', expect.stringMatching(/converts every stored value/)],
    ]);
  });

  it('counts statements it does not know and SELECTs that call unknown functions', async () => {
    expect(await kindsOf('SELECT purge_everything();')).toEqual([
      ['unknown', 'SELECT calls purge_everything, which may change data'],
    ]);
    expect(await kindsOf('CLUSTER customers;')).toEqual([
      ['unknown', 'CLUSTER is not known to keep data'],
    ]);
    expect(await kindsOf("SELECT pg_sleep(1); SELECT set_config('x.y', '1', false);")).toEqual([]);
  });

  it('finds a statement it cannot count as losing data of unknown amount, and says why', async () => {
    const url = await createTestDatabase('impact-closed');
    await query(url, `CREATE SCHEMA archive; CREATE TABLE archive.events (id int)`);
    const rollback = {
      file: '001_rollback.sql',
      sql: `DROP SCHEMA archive CASCADE;\nDO $$ BEGIN EXECUTE 'TRUNCATE x'; END $$;`,
    };
    const closedPlan = {
      ...plan,
      migrations: [
        { ...plan.migrations[0], rollback: { ...plan.migrations[0].rollback, ...rollback } },
      ],
    };
    await query(
      url,
      `CREATE SCHEMA pgshift; CREATE TABLE pgshift.migrations (version integer PRIMARY KEY, name text NOT NULL,
         forward_checksum text NOT NULL, rollback_checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
         applied_by text NOT NULL, duration_ms integer NOT NULL, source text NOT NULL DEFAULT 'migrate');
       INSERT INTO pgshift.migrations VALUES (1, 'x', 'a', 'b', now(), 'test', 1, 'migrate')`,
    );
    const impact = await withClient(url, (c) => assessRollbackImpact(c, closedPlan, 0));
    expect(impact.losesData).toBe(true);
    expect(impact.dataLoss.map((d) => describeLoss(d))).toEqual([
      'archive (schema dropped with its tables by 001_rollback.sql:1; row count unknown: DROP SCHEMA archive CASCADE drops every table in the schema)',
      'DO block (procedural code by 001_rollback.sql:2; row count unknown: a DO block with EXECUTE runs SQL built at run time, which cannot be checked)',
    ]);
  });
});

describe('assessing the impact of a rollback', () => {
  it('lists the migrations reverted newest first and counts the data each dropped object holds', async () => {
    const url = await createTestDatabase('impact');
    await withClient(url, (c) =>
      migrateUp(c, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test' }),
    );
    await query(
      url,
      `INSERT INTO customers (external_id, email, region) VALUES ('a', 'a@x', 'DE'), ('b', 'b@x', NULL)`,
    );

    const impact = await withClient(url, (c) => assessRollbackImpact(c, plan, 8));

    expect(impact.currentVersion).toBe(12);
    expect(impact.reverted.map((m) => m.version)).toEqual([12, 11, 10, 9]);
    expect(impact.missingRollbackFiles).toEqual([]);
    const byName = Object.fromEntries(
      impact.dataLoss.map((d) => [`${d.table}.${d.column ?? '*'}`, d]),
    );
    expect(byName['customers.region']).toMatchObject({ exists: true, rows: 1, version: 9 });
    expect(byName['customers.segment']).toMatchObject({ exists: true, rows: 2 });
    expect(byName['recovery_cases.priority']).toMatchObject({ exists: true, rows: 0 });
    expect(impact.losesData).toBe(true);
    expect(describeLoss(byName['customers.region'])).toMatch(
      /^customers\.region \(column dropped by 009_rollback\.sql:\d+; 1 non-null value\)$/,
    );

    const none = await withClient(url, (c) => assessRollbackImpact(c, plan, 10));
    expect(none.losesData).toBe(false);
    const unknown = await withClient(url, (c) =>
      assessRollbackImpact(c, { ...plan, migrations: plan.migrations.slice(0, 10) }, 9),
    );
    expect(unknown.missingRollbackFiles).toEqual([12, 11]);
  });
});

describe('the time to execute against the guide', () => {
  it('says whether a rollback stayed within the guide’s Time to Execute', () => {
    expect(compareWithGuide(42_000, 'full-emergency', '5-10 minutes')).toBe(
      "took 42 s; guide's target for Full Emergency: 5-10 minutes (within target)",
    );
    expect(compareWithGuide(11 * 60_000, 'full-emergency', '5-10 minutes')).toMatch(
      /took 11 min 0 s; .* \(OVER target\)$/,
    );
    expect(compareWithGuide(1000, 'none', 'N/A')).toBe(
      'took 1 s; the guide sets no time for None (fix in place)',
    );
    expect(formatSeconds(125_000)).toBe('2 min 5 s');
    expect(guideTimeFor('application')).toBe('2-5 minutes');
    expect(guideTimeFor('migration')).toBe('10-15 minutes');
  });

  it('lets the operator’s flag win over the decision matrix', () => {
    expect(chooseRollback({ mode: 'status-only', issue: 'minor', severity: 'P3' })).toEqual({
      mode: 'status-only',
      source: 'operator',
    });
    expect(chooseRollback({ issue: 'feature-failure', severity: 'P2' })).toMatchObject({
      mode: 'application',
      source: 'decision matrix',
      decision: { expectedTime: '5-10 minutes' },
    });
  });
});
