import type { Migration, MigrationPlan, SqlFile } from '../migrations/types';
import { eachWithTurns } from '../event-loop';
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

/**
 * Parses every forward and rollback file of a plan (each file once per process). Parsing is
 * synchronous work: every ITEMS_PER_TURN migrations it gives the event loop a turn, so that a
 * worker parsing a plan of thousands of files still heartbeats and answers its workflow tasks.
 */
export async function parsePlan(plan: MigrationPlan): Promise<ParsedMigration[]> {
  const parsed: ParsedMigration[] = [];
  await eachWithTurns(plan.migrations, async (migration) => {
    parsed.push({
      migration,
      forward: await parseOnce(migration.forward),
      rollback: await parseOnce(migration.rollback),
    });
  });
  return parsed;
}

/** "7" → "007", the way migration files are numbered. */
export function formatVersion(version: number): string {
  return String(version).padStart(3, '0');
}
