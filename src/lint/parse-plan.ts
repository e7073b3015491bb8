import type { Migration, MigrationPlan, SqlFile } from '../migrations/types';
import { parseSqlFile, type ParsedFile } from './sql-parse';

export interface ParsedMigration {
  migration: Migration;
  forward: ParsedFile;
  rollback: ParsedFile;
}

const cache = new WeakMap<SqlFile, Promise<ParsedFile>>();

function parseOnce(file: SqlFile): Promise<ParsedFile> {
  let parsed = cache.get(file);
  if (!parsed) {
    parsed = parseSqlFile(file.file, file.sql);
    cache.set(file, parsed);
  }
  return parsed;
}

/** Parses every forward and rollback file of a plan (each file once per process). */
export async function parsePlan(plan: MigrationPlan): Promise<ParsedMigration[]> {
  return Promise.all(
    plan.migrations.map(async (migration) => ({
      migration,
      forward: await parseOnce(migration.forward),
      rollback: await parseOnce(migration.rollback),
    })),
  );
}

/** "7" → "007", the way migration files are numbered. */
export function formatVersion(version: number): string {
  return String(version).padStart(3, '0');
}
