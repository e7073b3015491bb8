import { withClient } from '../migrations/database';

export type SqlCheckExpectation =
  'non-empty' | 'zero-rows' | { equals: string | number | boolean | null };

export interface SqlCheck {
  name: string;
  sql: string;
  /** Default: the query runs without error. `equals` compares the first column of the first row. */
  expect?: SqlCheckExpectation;
}

export interface SqlCheckResult {
  name: string;
  ok: boolean;
  rowCount: number;
  durationMs: number;
  /** Why it failed: the SQL error or the unmet expectation. */
  detail?: string;
}

function judge(
  expect: SqlCheckExpectation | undefined,
  rows: Record<string, unknown>[],
): string | undefined {
  if (!expect) return undefined;
  if (expect === 'non-empty') return rows.length > 0 ? undefined : 'expected rows, got none';
  if (expect === 'zero-rows')
    return rows.length === 0 ? undefined : `expected no rows, got ${rows.length}`;
  const first = rows[0] ? Object.values(rows[0])[0] : undefined;
  const actual = first === undefined ? undefined : first === null ? null : String(first);
  const wanted = expect.equals === null ? null : String(expect.equals);
  return actual === wanted
    ? undefined
    : `expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual ?? 'no rows')}`;
}

/**
 * Runs each check in its own READ ONLY transaction with a statement timeout (so a check can
 * neither change data nor hang), always rolled back. Failures are results, not exceptions.
 */
export async function runSqlChecks(
  url: string,
  checks: SqlCheck[],
  opts: { statementTimeoutMs?: number } = {},
): Promise<SqlCheckResult[]> {
  const timeout = Math.max(1, Math.floor(opts.statementTimeoutMs ?? 10_000));
  return withClient(url, async (client) => {
    const results: SqlCheckResult[] = [];
    for (const check of checks) {
      const started = performance.now();
      try {
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL statement_timeout = ${timeout}`);
        const { rows } = await client.query<Record<string, unknown>>(check.sql);
        const detail = judge(check.expect, rows);
        results.push({
          name: check.name,
          ok: !detail,
          rowCount: rows.length,
          durationMs: Math.round(performance.now() - started),
          ...(detail ? { detail } : {}),
        });
      } catch (error) {
        results.push({
          name: check.name,
          ok: false,
          rowCount: 0,
          durationMs: Math.round(performance.now() - started),
          detail: (error as Error).message,
        });
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    }
    return results;
  });
}
