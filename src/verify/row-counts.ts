import { escapeIdentifier } from 'pg';
import { withClient } from '../migrations/database';

/** Row count per table name as given; 'missing' when the table does not exist. */
export type RowCounts = Record<string, number | 'missing'>;

/** "schema.table" or "table" → quoted identifier; quoted parts ("My Table") are kept. */
export function quoteTableName(name: string): string {
  const parts = name.match(/"(?:[^"]|"")*"|[^.]+/g) ?? [name];
  return parts
    .map((part) =>
      part.startsWith('"')
        ? escapeIdentifier(part.slice(1, -1).replace(/""/g, '"'))
        : escapeIdentifier(part),
    )
    .join('.');
}

/** Exact `count(*)` of each table; missing tables are reported, not fatal. */
export async function countRows(
  url: string,
  tables: string[],
  opts: { statementTimeoutMs?: number } = {},
): Promise<RowCounts> {
  return withClient(url, async (client) => {
    await client.query(
      `SET statement_timeout = ${Math.max(0, Math.floor(opts.statementTimeoutMs ?? 60_000))}`,
    );
    const counts: RowCounts = {};
    for (const table of tables) {
      const quoted = quoteTableName(table);
      const { rows } = await client.query<{ oid: string | null }>(
        'SELECT to_regclass($1)::text AS oid',
        [quoted],
      );
      if (rows[0].oid === null) {
        counts[table] = 'missing';
        continue;
      }
      const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoted}`);
      counts[table] = Number(result.rows[0].n);
    }
    return counts;
  });
}

export interface RowCountDrop {
  table: string;
  before: number | 'missing';
  after: number | 'missing';
}

export interface RowCountComparison {
  ok: boolean;
  /** Tables whose count fell, or that disappeared. */
  drops: RowCountDrop[];
}

/** Critical row counts must not drop: lists every table that lost rows or vanished. */
export function compareRowCounts(before: RowCounts, after: RowCounts): RowCountComparison {
  const drops: RowCountDrop[] = [];
  for (const [table, was] of Object.entries(before)) {
    if (was === 'missing') continue;
    const now = after[table] ?? 'missing';
    if (now === 'missing' || now < was) drops.push({ table, before: was, after: now });
  }
  return { ok: drops.length === 0, drops };
}
