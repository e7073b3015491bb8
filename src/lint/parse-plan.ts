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

/** Migrations parsed (or checked) between two turns of the event loop. */
export const PARSED_PER_TURN = 25;

/** Lets timers and I/O run (heartbeats, workflow tasks) in the middle of long synchronous work. */
export function giveEventLoopATurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Parses every forward and rollback file of a plan (each file once per process). Parsing is
 * synchronous work: every PARSED_PER_TURN migrations it gives the event loop a turn, so that a
 * worker parsing a plan of thousands of files still heartbeats and answers its workflow tasks.
 */
export async function parsePlan(plan: MigrationPlan): Promise<ParsedMigration[]> {
  const parsed: ParsedMigration[] = [];
  for (const [index, migration] of plan.migrations.entries()) {
    if (index > 0 && index % PARSED_PER_TURN === 0) await giveEventLoopATurn();
    parsed.push({
      migration,
      forward: await parseOnce(migration.forward),
      rollback: await parseOnce(migration.rollback),
    });
  }
  return parsed;
}

/** "7" → "007", the way migration files are numbered. */
export function formatVersion(version: number): string {
  return String(version).padStart(3, '0');
}
