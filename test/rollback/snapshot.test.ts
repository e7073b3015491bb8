import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import {
  snapshotSchema,
  type CatalogObject,
  type CatalogSnapshot,
} from '../../src/migrations/snapshot';
import { createTestDatabase } from '../support/databases';

let url: string;
let client: Client;
let snapshot: CatalogSnapshot;

function find(kind: string, key: string): CatalogObject {
  const object = snapshot.objects.find((o) => o.kind === kind && o.key === key);
  if (!object) throw new Error(`${kind} ${key} not in snapshot`);
  return object;
}

beforeAll(async () => {
  url = await createTestDatabase('snapshot');
  client = new Client(url);
  await client.connect();
  await client.query(`
    CREATE EXTENSION IF NOT EXISTS pgcrypto;
    CREATE SCHEMA app;
    COMMENT ON SCHEMA app IS 'application objects';
    CREATE TYPE case_status AS ENUM ('open', 'pending', 'closed');
    CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
    CREATE TYPE money_pair AS (amount numeric(12,2), currency char(3));
    CREATE TABLE customers (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email email NOT NULL,
      region varchar(20) COLLATE "C",
      seq bigint GENERATED ALWAYS AS IDENTITY,
      name_upper text GENERATED ALWAYS AS (upper(email)) STORED,
      CONSTRAINT customers_email_key UNIQUE (email)
    );
    COMMENT ON TABLE customers IS 'people who pay';
    COMMENT ON COLUMN customers.region IS 'sales region';
    CREATE UNLOGGED TABLE app.events (
      id serial PRIMARY KEY,
      customer_id uuid REFERENCES customers(id) ON DELETE CASCADE,
      status case_status NOT NULL DEFAULT 'open',
      payload jsonb CHECK (payload ? 'type')
    );
    CREATE INDEX idx_events_status ON app.events (status) WHERE status <> 'closed';
    COMMENT ON INDEX app.idx_events_status IS 'open work';
    CREATE VIEW open_events AS SELECT id, status FROM app.events WHERE status = 'open';
    CREATE MATERIALIZED VIEW event_counts AS SELECT status, count(*) AS n FROM app.events GROUP BY status;
    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
    CREATE PROCEDURE archive(days int) LANGUAGE sql AS $$ DELETE FROM app.events WHERE false $$;
    CREATE TRIGGER events_touch BEFORE UPDATE ON app.events FOR EACH ROW EXECUTE FUNCTION touch();
    CREATE SEQUENCE invoice_numbers AS integer START 1000 INCREMENT 10 MAXVALUE 999999 CYCLE;
    ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
    CREATE POLICY own_rows ON customers FOR SELECT USING (region = current_setting('app.region'));
    DO $$ BEGIN CREATE ROLE snapshot_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
    GRANT SELECT ON customers TO snapshot_reader;
  `);
  await client.query(`SELECT nextval('invoice_numbers')`);
  snapshot = await snapshotSchema(client);
});

afterAll(async () => {
  await client?.end();
});

describe('catalog snapshot', () => {
  it('records user schemas with owner and comment, and leaves out system and ledger schemas', () => {
    const keys = snapshot.objects.filter((o) => o.kind === 'schema').map((o) => o.key);
    expect(keys).toEqual(['app', 'public']);
    expect(find('schema', 'app').properties).toMatchObject({
      comment: 'application objects',
      owner: 'postgres',
    });
  });

  it('records extensions with their version and leaves out their member functions', () => {
    expect(find('extension', 'pgcrypto').properties.version).toMatch(/^\d+\.\d+$/);
    expect(snapshot.objects.some((o) => o.key.startsWith('public.gen_random_bytes'))).toBe(false);
  });

  it('records tables with persistence, comment, row security and privileges', () => {
    expect(find('table', 'public.customers').properties).toMatchObject({
      persistence: 'permanent',
      comment: 'people who pay',
      rowSecurity: true,
    });
    expect(find('table', 'public.customers').properties.acl).toContain(
      'snapshot_reader=r/postgres',
    );
    expect(find('table', 'app.events').properties.persistence).toBe('unlogged');
  });

  it('records columns with type, default, nullability, identity, generation, collation and order', () => {
    expect(find('column', 'public.customers.id').properties).toMatchObject({
      type: 'uuid',
      default: 'gen_random_uuid()',
      notNull: true,
      position: 1,
    });
    expect(find('column', 'public.customers.region').properties).toMatchObject({
      type: 'character varying(20)',
      collation: 'C',
      comment: 'sales region',
      notNull: false,
      position: 3,
    });
    expect(find('column', 'public.customers.seq').properties.identity).toBe('always');
    expect(find('column', 'public.customers.name_upper').properties.generated).toBe('stored');
    expect(find('column', 'app.events.status').properties).toMatchObject({
      type: 'public.case_status',
      default: "'open'::public.case_status",
    });
  });

  it('records constraints by name with their definition', () => {
    expect(find('constraint', 'app.events.events_customer_id_fkey').properties).toMatchObject({
      type: 'foreign key',
      definition: 'FOREIGN KEY (customer_id) REFERENCES public.customers(id) ON DELETE CASCADE',
    });
    expect(find('constraint', 'public.customers.customers_email_key').properties.type).toBe(
      'unique',
    );
    expect(find('constraint', 'public.email.email_check').parent).toBe('domain public.email');
  });

  it('records indexes with definition and comment', () => {
    expect(find('index', 'app.idx_events_status').properties).toMatchObject({
      definition:
        "CREATE INDEX idx_events_status ON app.events USING btree (status) WHERE (status <> 'closed'::public.case_status)",
      comment: 'open work',
    });
  });

  it('records views and materialized views with their definition', () => {
    expect(find('view', 'public.open_events').properties.definition).toContain('FROM app.events');
    expect(find('materialized view', 'public.event_counts').properties.definition).toContain(
      'count(*)',
    );
  });

  it('records functions and procedures by identity arguments with their definition', () => {
    expect(find('function', 'public.touch()').properties.definition).toContain('RETURN NEW');
    expect(find('procedure', 'public.archive(IN days integer)').properties.definition).toContain(
      'DELETE FROM app.events',
    );
  });

  it('records triggers with their definition', () => {
    expect(find('trigger', 'app.events.events_touch').properties.definition).toBe(
      'CREATE TRIGGER events_touch BEFORE UPDATE ON app.events FOR EACH ROW EXECUTE FUNCTION public.touch()',
    );
  });

  it('records sequences with their parameters but not their current value', () => {
    expect(find('sequence', 'public.invoice_numbers').properties).toMatchObject({
      dataType: 'integer',
      start: '1000',
      increment: '10',
      max: '999999',
      cycle: true,
    });
    expect(JSON.stringify(find('sequence', 'public.invoice_numbers'))).not.toContain('1010');
    expect(find('sequence', 'app.events_id_seq').properties.ownedBy).toBe('events.id');
  });

  it('records enum labels in order, domains and composite types', () => {
    expect(find('enum', 'public.case_status').properties.labels).toEqual([
      'open',
      'pending',
      'closed',
    ]);
    expect(find('domain', 'public.email').properties.baseType).toBe('text');
    expect(find('attribute', 'public.money_pair.amount').properties.type).toBe('numeric(12,2)');
  });

  it('records row-level security policies', () => {
    expect(find('policy', 'public.customers.own_rows').properties).toMatchObject({
      command: 'SELECT',
      roles: ['public'],
    });
  });

  it('leaves out the pgshift ledger schema', async () => {
    await client.query('CREATE SCHEMA pgshift; CREATE TABLE pgshift.migrations (version int)');
    const again = await snapshotSchema(client);
    expect(again.objects.some((o) => o.key.startsWith('pgshift'))).toBe(false);
    await client.query('DROP SCHEMA pgshift CASCADE');
  });

  it('is deterministic and independent of the session search_path', async () => {
    await client.query('SET search_path = app, public');
    const again = await snapshotSchema(client);
    await client.query('RESET search_path');
    expect(JSON.stringify(again)).toBe(JSON.stringify(snapshot));
    expect((await client.query('SHOW search_path')).rows[0].search_path).toBe('"$user", public');
  });

  it('can be restricted to some schemas', async () => {
    const appOnly = await snapshotSchema(client, { schemas: ['app'] });
    expect(new Set(appOnly.objects.map((o) => o.key.split('.')[0]))).toEqual(new Set(['app']));
  });
});
