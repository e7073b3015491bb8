import { ensureParser, parseSql } from './sql-statements';
import type { Migration } from './types';

/**
 * The names a migration's statements mention, read from the PostgreSQL parser's AST of its
 * forward and rollback files: every identifier (relation, column, index, constraint, type,
 * function, schema…) and every word inside a string the statements carry (function bodies,
 * DO blocks, dynamic SQL), so that `EXECUTE 'DROP INDEX idx_x'` names `idx_x` too.
 * Deliberately generous: a name that matches nothing costs nothing, and whatever a
 * migration changes without naming it is caught by the catalog guard (snapshot-scope.ts).
 *
 * Returns null when a file does not parse: the caller then compares whole schemas.
 */
export async function namesOfMigration(migration: Migration): Promise<string[] | null> {
  await ensureParser();
  const names = new Set<string>();
  for (const file of [migration.forward, migration.rollback]) {
    const parsed = parseSql(file.sql);
    if (parsed.syntaxError) return null;
    for (const statement of parsed.statements) collectNames(statement.node, names);
  }
  return [...names].sort();
}

const IDENTIFIER = /^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/g;
const QUOTED = /"((?:[^"]|"")+)"/g;

/** Adds the identifiers a string value can stand for: itself, and the words it contains. */
function addString(value: string, names: Set<string>): void {
  if (value.length > 0 && Buffer.byteLength(value) <= 63) names.add(value);
  if (IDENTIFIER.test(value)) return;
  for (const word of value.match(WORD) ?? []) {
    names.add(word);
    names.add(word.toLowerCase());
  }
  for (const match of value.matchAll(QUOTED)) names.add(match[1].replace(/""/g, '"'));
}

function collectNames(node: unknown, names: Set<string>): void {
  if (typeof node === 'string') addString(node, names);
  else if (Array.isArray(node)) for (const item of node) collectNames(item, names);
  else if (node !== null && typeof node === 'object')
    for (const value of Object.values(node)) collectNames(value, names);
}
