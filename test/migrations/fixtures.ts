import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { connect } from '../../src/migrations/database';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from '../../src/migrations/types';

/** One migration pair of a fixture set; headers are generated unless given. */
export interface PairSpec {
  version: number;
  name: string;
  up: string;
  down: string;
  upMarkers?: string[];
  downMarkers?: string[];
}

const pad = (n: number) => String(n).padStart(3, '0');

export function forwardText(spec: PairSpec): string {
  return [
    `-- Migration: ${pad(spec.version)}_${spec.name}.sql`,
    `-- Description: ${spec.name.replace(/_/g, ' ')}`,
    '-- Author: Test Author',
    '-- Date: 2024-05-01',
    ...(spec.upMarkers ?? []),
    '',
    spec.up,
    '',
  ].join('\n');
}

export function rollbackText(spec: PairSpec): string {
  return [
    `-- Rollback: ${pad(spec.version)}_rollback.sql`,
    `-- Reverses migration: ${pad(spec.version)}_${spec.name}.sql`,
    '-- Author: Test Author',
    '-- Date: 2024-05-01',
    ...(spec.downMarkers ?? []),
    '',
    spec.down,
    '',
  ].join('\n');
}

/** Writes files into a fresh temp folder: generated pairs plus raw files by name. */
export function writeMigrations(pairs: PairSpec[], raw: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-migrations-'));
  for (const spec of pairs) {
    writeFileSync(join(dir, `${pad(spec.version)}_${spec.name}.sql`), forwardText(spec));
    writeFileSync(join(dir, `${pad(spec.version)}_rollback.sql`), rollbackText(spec));
  }
  for (const [file, text] of Object.entries(raw)) writeFileSync(join(dir, file), text);
  return dir;
}

/** A simple pair creating table `t<version>` with the guide's rollback format. */
export function tablePair(version: number): PairSpec {
  return {
    version,
    name: `create_t${version}`,
    up: `CREATE TABLE IF NOT EXISTS t${version} (id bigint PRIMARY KEY, note text);`,
    down: `BEGIN;\nDROP TABLE IF EXISTS t${version};\nCOMMIT;\n\nDO $$\nBEGIN\n    RAISE NOTICE 'Rollback ${pad(version)} completed successfully';\nEND $$;`,
  };
}

export function options(overrides: Partial<RunnerOptions> = {}): RunnerOptions {
  return { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'tester', ...overrides };
}

export const shippedMigrations = join(__dirname, '..', '..', 'migrations');

/** Opens a client on `url`; the test closes it. */
export function open(url: string): Promise<Client> {
  return connect(url);
}

export async function tableExists(client: Client, name: string): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS ok`, [name]);
  return rows[0].ok as boolean;
}

export async function ledgerVersions(client: Client): Promise<number[]> {
  const { rows } = await client.query(`SELECT version FROM pgshift.migrations ORDER BY version`);
  return rows.map((r) => r.version as number);
}
