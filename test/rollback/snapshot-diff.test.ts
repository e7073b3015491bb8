import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { snapshotSchema } from '../../src/migrations/snapshot';
import { diffSnapshots } from '../../src/migrations/snapshot-diff';
import { createTestDatabase } from '../support/databases';

let client: Client;

const BASE_SCHEMA = `
  CREATE TYPE case_status AS ENUM ('open', 'closed');
  CREATE TABLE customers (id int PRIMARY KEY, region text);
  CREATE TABLE cases (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open');
  CREATE TABLE events (id int PRIMARY KEY, case_id int REFERENCES cases(id));
  CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
  COMMENT ON TABLE cases IS 'recovery cases';
`;

/**
 * The messages of the differences `change` makes to the base schema. Also checks that an
 * incremental snapshot (reusing the unchanged objects of `before`) equals a full one.
 */
async function differencesAfter(change: string): Promise<string[]> {
  const before = await snapshotSchema(client);
  await client.query(change);
  const after = await snapshotSchema(client);
  expect(await snapshotSchema(client, { reuse: before })).toEqual(after);
  return diffSnapshots(before, after).map((d) => d.message);
}

beforeEach(async () => {
  client = new Client(await createTestDatabase('diff'));
  await client.connect();
  await client.query(BASE_SCHEMA);
});

afterEach(async () => {
  await client.end();
});

describe('snapshot diff', () => {
  it('finds nothing between two snapshots of the same schema', async () => {
    expect(await differencesAfter('SELECT 1')).toEqual([]);
  });

  it('reports an index left behind', async () => {
    expect(await differencesAfter('CREATE INDEX idx_x ON cases (status)')).toEqual([
      'index idx_x still exists',
    ]);
  });

  it('reports a changed default, and a removed one as none', async () => {
    expect(await differencesAfter(`ALTER TABLE cases ALTER status SET DEFAULT 'new'`)).toEqual([
      "default of cases.status was 'open', now 'new'",
    ]);
    expect(await differencesAfter(`ALTER TABLE cases ALTER status DROP DEFAULT`)).toEqual([
      "default of cases.status was 'new', now none",
    ]);
  });

  it('reports a changed column type', async () => {
    expect(await differencesAfter('ALTER TABLE customers ALTER region TYPE varchar(20)')).toEqual([
      'column customers.region type was text, now character varying(20)',
    ]);
  });

  it('reports a changed nullability', async () => {
    expect(await differencesAfter('ALTER TABLE cases ALTER status DROP NOT NULL')).toEqual([
      'column cases.status was NOT NULL, now nullable',
    ]);
  });

  it('reports a missing table once, not each of its columns and constraints', async () => {
    expect(await differencesAfter('DROP TABLE events')).toEqual(['table events is missing']);
  });

  it('reports a leftover table once, with its owned sequence folded in', async () => {
    expect(await differencesAfter('CREATE TABLE audit (id serial PRIMARY KEY, note text)')).toEqual(
      ['table audit still exists'],
    );
  });

  it('reports an enum label left behind', async () => {
    expect(await differencesAfter(`ALTER TYPE case_status ADD VALUE 'archived'`)).toEqual([
      "enum case_status label 'archived' still exists",
    ]);
  });

  it('reports a trigger left behind', async () => {
    expect(
      await differencesAfter(
        'CREATE TRIGGER cases_touch BEFORE UPDATE ON cases FOR EACH ROW EXECUTE FUNCTION touch()',
      ),
    ).toEqual(['trigger cases.cases_touch still exists']);
  });

  it('reports a changed comment', async () => {
    expect(await differencesAfter(`COMMENT ON TABLE cases IS 'open cases'`)).toEqual([
      "comment on table cases was 'recovery cases', now 'open cases'",
    ]);
    expect(await differencesAfter(`COMMENT ON TABLE cases IS NULL`)).toEqual([
      "comment on table cases was 'open cases', now none",
    ]);
  });

  it('reports a missing column and a changed constraint', async () => {
    expect(
      await differencesAfter(`
        ALTER TABLE customers DROP COLUMN region;
        ALTER TABLE events DROP CONSTRAINT events_case_id_fkey;
        ALTER TABLE events ADD CONSTRAINT events_case_id_fkey FOREIGN KEY (case_id) REFERENCES cases(id) ON DELETE CASCADE;
      `),
    ).toEqual([
      'column customers.region is missing',
      'definition of constraint events.events_case_id_fkey was FOREIGN KEY (case_id) REFERENCES public.cases(id), now FOREIGN KEY (case_id) REFERENCES public.cases(id) ON DELETE CASCADE',
    ]);
  });

  it('reports a changed function body and a granted privilege', async () => {
    expect(
      await differencesAfter(`
        CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$;
        DO $$ BEGIN CREATE ROLE diff_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        GRANT SELECT ON cases TO diff_reader;
      `),
    ).toEqual([
      'privilege diff_reader=r/postgres on table cases still exists',
      'definition of function touch() changed',
    ]);
  });

  it('names each difference with its kind and object', async () => {
    const before = await snapshotSchema(client);
    await client.query('CREATE INDEX idx_x ON cases (status)');
    expect(diffSnapshots(before, await snapshotSchema(client))).toEqual([
      { kind: 'extra', object: 'index public.idx_x', message: 'index idx_x still exists' },
    ]);
  });

  describe('incremental snapshots (reusing an earlier snapshot of the same database)', () => {
    /** Applies each change in turn; after each, the incremental snapshot must equal a full one. */
    async function expectIncrementalEqualsFull(changes: string[]): Promise<void> {
      let previous = await snapshotSchema(client);
      for (const change of changes) {
        await client.query(change);
        const incremental = await snapshotSchema(client, { reuse: previous });
        expect(incremental, change).toEqual(await snapshotSchema(client));
        previous = incremental;
      }
    }

    it('sees definitions that print a renamed column or table', async () => {
      await expectIncrementalEqualsFull([
        `CREATE INDEX idx_status ON cases (status);
         ALTER TABLE cases ADD CONSTRAINT status_set CHECK (status <> '');
         CREATE VIEW open_cases AS SELECT id, status FROM cases;
         CREATE TRIGGER cases_touch BEFORE UPDATE ON cases FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TABLE audit (id serial PRIMARY KEY)`,
        'ALTER TABLE cases RENAME COLUMN status TO state',
        'ALTER TABLE cases RENAME TO recovery_cases',
        'ALTER FUNCTION touch() RENAME TO touch_row',
        'ALTER TABLE audit RENAME COLUMN id TO audit_id',
        'ALTER TABLE audit RENAME TO audit_log',
        'ALTER TABLE recovery_cases RENAME COLUMN state TO status',
      ]);
    });

    it('sees enum labels, owned sequences and replaced views', async () => {
      await expectIncrementalEqualsFull([
        `ALTER TYPE case_status ADD VALUE 'archived'`,
        'CREATE SEQUENCE case_numbers; ALTER SEQUENCE case_numbers OWNED BY cases.id',
        'CREATE VIEW v AS SELECT id FROM cases',
        'CREATE OR REPLACE VIEW v AS SELECT id, status FROM cases',
        `ALTER TABLE cases ALTER status SET DEFAULT 'x'; COMMENT ON COLUMN cases.status IS 'y'`,
        'ALTER TABLE customers DROP COLUMN region',
      ]);
    });
  });
});
