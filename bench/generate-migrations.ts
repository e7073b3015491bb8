import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Generates N migrations in the guide's format (`NNN_description.sql` + `NNN_rollback.sql`,
 * header comments, rollback files with their own BEGIN/COMMIT and a trailing DO $$ RAISE
 * NOTICE block), and the same SQL in node-pg-migrate's single-file format
 * (`-- Up Migration` / `-- Down Migration`). The mix is realistic: every third migration
 * creates a table with a few columns, an index and comments; the others add a column to an
 * earlier table or create a view over one.
 */

export interface GeneratedMigration {
  version: number;
  name: string;
  forward: string;
  rollback: string;
}

const pad = (n: number) => String(n).padStart(3, '0');

interface TableInfo {
  name: string;
  addedColumns: number;
}

function header(version: number, name: string, description: string): string {
  return [
    `-- Migration: ${pad(version)}_${name}.sql`,
    `-- Description: ${description}`,
    `-- Author: Bench Generator`,
    `-- Date: 2024-05-01`,
    '',
  ].join('\n');
}

function rollbackFile(version: number, name: string, body: string[], notice: string): string {
  return [
    `-- Rollback: ${pad(version)}_rollback.sql`,
    `-- Reverses migration: ${pad(version)}_${name}.sql`,
    `-- Author: Bench Generator`,
    `-- Date: 2024-05-01`,
    '',
    '-- WARNING: This will permanently delete data',
    '-- Consider backing up critical data before proceeding',
    '',
    '-- Use transactions for safety',
    'BEGIN;',
    '',
    ...body,
    '',
    'COMMIT;',
    '',
    '-- Log completion',
    'DO $$',
    'BEGIN',
    `    RAISE NOTICE 'Rollback ${pad(version)} completed successfully';`,
    `    RAISE NOTICE '${notice}';`,
    'END $$;',
    '',
  ].join('\n');
}

function createTable(version: number, table: string): GeneratedMigration {
  const name = `create_${table}`;
  const forward = [
    header(version, name, `Creates ${table} with its lookup index`),
    '-- Use idempotent operations',
    `CREATE TABLE IF NOT EXISTS ${table} (`,
    '    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),',
    '    account_ref text NOT NULL,',
    "    status text NOT NULL DEFAULT 'new',",
    '    amount_cents bigint NOT NULL DEFAULT 0,',
    '    payload jsonb,',
    '    created_at timestamptz NOT NULL DEFAULT now()',
    ');',
    '',
    '-- Include proper indexes',
    `CREATE INDEX IF NOT EXISTS idx_${table}_account_ref ON ${table} (account_ref, created_at);`,
    '',
    '-- Add comments for documentation',
    `COMMENT ON TABLE ${table} IS 'Generated table ${table} (benchmark data set)';`,
    `COMMENT ON COLUMN ${table}.account_ref IS 'Reference of the owning account';`,
    '',
  ].join('\n');
  const rollback = rollbackFile(
    version,
    name,
    [
      '-- Drop indexes first',
      `DROP INDEX IF EXISTS idx_${table}_account_ref;`,
      '',
      '-- Drop tables with proper warnings',
      `DROP TABLE IF EXISTS ${table};`,
    ],
    `WARNING: All data in ${table} has been permanently deleted`,
  );
  return { version, name, forward, rollback };
}

function addColumn(version: number, table: TableInfo): GeneratedMigration {
  table.addedColumns++;
  const column = `extra_${table.addedColumns}`;
  const name = `add_${table.name}_${column}`;
  const forward = [
    header(version, name, `Adds ${table.name}.${column}`),
    '-- Use idempotent operations',
    `ALTER TABLE ${table.name} ADD COLUMN IF NOT EXISTS ${column} text DEFAULT 'none';`,
    '',
    '-- Add comments for documentation',
    `COMMENT ON COLUMN ${table.name}.${column} IS 'Generated column ${column}';`,
    '',
  ].join('\n');
  const rollback = rollbackFile(
    version,
    name,
    ['-- Drop the column', `ALTER TABLE ${table.name} DROP COLUMN IF EXISTS ${column};`],
    `WARNING: All data in ${table.name}.${column} has been permanently deleted`,
  );
  return { version, name, forward, rollback };
}

function createView(version: number, table: TableInfo): GeneratedMigration {
  const view = `${table.name}_summary_${version}`;
  const name = `create_${view}`;
  const forward = [
    header(version, name, `Creates the reporting view ${view}`),
    '-- Use idempotent operations',
    `CREATE OR REPLACE VIEW ${view} AS`,
    `    SELECT account_ref, status, count(*) AS total, sum(amount_cents) AS amount_cents`,
    `    FROM ${table.name}`,
    '    GROUP BY account_ref, status;',
    '',
    '-- Add comments for documentation',
    `COMMENT ON VIEW ${view} IS 'Totals of ${table.name} per account and status';`,
    '',
  ].join('\n');
  const rollback = rollbackFile(
    version,
    name,
    ['-- Drop the view', `DROP VIEW IF EXISTS ${view};`],
    `View ${view} removed (no data lost)`,
  );
  return { version, name, forward, rollback };
}

export interface GenerateOptions {
  /**
   * Bytes of notes (a comment block, as real migrations carry: why, how to verify, who to ask)
   * added to each forward file: real files are often 5–20 KB, the generated ones about 0.6 KB.
   */
  notesBytes?: number;
}

const NOTE =
  '-- Note: verified on a copy of production; the change is backward compatible with the running release.';

function withNotes(migration: GeneratedMigration, bytes: number): GeneratedMigration {
  const lines: string[] = [];
  for (let size = 0; size < bytes; size += NOTE.length + 1) lines.push(NOTE);
  return { ...migration, forward: `${migration.forward}\n${lines.join('\n')}\n` };
}

/** The migrations 1..count, deterministic (the same count always gives the same files). */
export function generateMigrations(
  count: number,
  options: GenerateOptions = {},
): GeneratedMigration[] {
  const tables: TableInfo[] = [];
  const migrations: GeneratedMigration[] = [];
  for (let version = 1; version <= count; version++) {
    const kind = version % 3;
    if (kind === 1 || tables.length === 0) {
      const table = { name: `bench_t${pad(tables.length + 1)}`, addedColumns: 0 };
      tables.push(table);
      migrations.push(createTable(version, table.name));
    } else {
      // Spread the later changes over the tables created so far.
      const table = tables[(version * 7) % tables.length];
      migrations.push(kind === 2 ? addColumn(version, table) : createView(version, table));
    }
  }
  const notes = options.notesBytes ?? 0;
  return notes > 0 ? migrations.map((m) => withNotes(m, notes)) : migrations;
}

/** Writes the guide's pairs of files into `dir` (created). */
export function writeGuideFormat(dir: string, migrations: GeneratedMigration[]): string {
  mkdirSync(dir, { recursive: true });
  for (const m of migrations) {
    writeFileSync(join(dir, `${pad(m.version)}_${m.name}.sql`), m.forward);
    writeFileSync(join(dir, `${pad(m.version)}_rollback.sql`), m.rollback);
  }
  return dir;
}

/** Writes node-pg-migrate's SQL files (`-- Up Migration` … `-- Down Migration` …) into `dir`. */
export function writeNodePgMigrateFormat(dir: string, migrations: GeneratedMigration[]): string {
  mkdirSync(dir, { recursive: true });
  for (const m of migrations)
    writeFileSync(
      join(dir, `${pad(m.version)}_${m.name}.sql`),
      `-- Up Migration\n${m.forward}\n-- Down Migration\n${m.rollback}`,
    );
  return dir;
}
