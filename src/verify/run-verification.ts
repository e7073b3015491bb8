import type { EnvironmentConfig } from '../config';
import { checkDatabase, type DatabaseCheckResult } from './database-check';
import { checkHttpHealth } from './http-health';
import { compareRowCounts, countRows, type RowCounts } from './row-counts';
import { runSqlChecks } from './sql-checks';

/** One check of the post-deployment verification, as people and --json see it. */
export interface VerificationCheck {
  kind: 'database' | 'row-counts' | 'sql' | 'http';
  name: string;
  ok: boolean;
  latencyMs?: number;
  detail: string;
}

export interface VerificationResult {
  environment: string;
  ok: boolean;
  checks: VerificationCheck[];
  rowCounts: RowCounts;
}

/** `SELECT 1` on the database, as the check `name`; `answered` describes an answer. */
export async function databaseCheck(
  databaseUrl: string,
  name: string,
  answered: (answer: DatabaseCheckResult) => string,
): Promise<VerificationCheck> {
  const db = await checkDatabase(databaseUrl);
  return {
    kind: 'database',
    name,
    ok: db.ok,
    latencyMs: db.latencyMs,
    detail: db.ok ? answered(db) : (db.error ?? 'failed'),
  };
}

/** The configured SQL checks (read-only), one check each. */
export async function sqlChecks(
  databaseUrl: string,
  settings: Pick<EnvironmentConfig, 'checks'>,
): Promise<VerificationCheck[]> {
  if (!settings.checks.length) return [];
  return (await runSqlChecks(databaseUrl, settings.checks)).map((result) => ({
    kind: 'sql',
    name: result.name,
    ok: result.ok,
    latencyMs: result.durationMs,
    detail: result.ok ? `${result.rowCount} rows` : (result.detail ?? 'failed'),
  }));
}

/**
 * The guide's post-deployment verification, on its own (no Temporal): `SELECT 1`, the
 * critical tables' row counts (present, and not below `baselineRowCounts` when given), the
 * configured SQL checks, and the HTTP health checks (status and latency). Failures are
 * results, never exceptions; no credential reaches a message.
 */
export async function runVerification(
  settings: EnvironmentConfig,
  databaseUrl: string,
  options: { baselineRowCounts?: RowCounts } = {},
): Promise<VerificationResult> {
  const db = await databaseCheck(databaseUrl, 'database answers SELECT 1', (answer) =>
    `PostgreSQL ${answer.serverVersion ?? ''}`.trim(),
  );
  const checks: VerificationCheck[] = [db];
  let rowCounts: RowCounts = {};
  if (db.ok && settings.criticalTables.length) {
    const started = performance.now();
    rowCounts = await countRows(databaseUrl, settings.criticalTables);
    const latencyMs = Math.round(performance.now() - started);
    const missing = Object.entries(rowCounts).filter(([, n]) => n === 'missing');
    const drops = options.baselineRowCounts
      ? compareRowCounts(options.baselineRowCounts, rowCounts).drops
      : [];
    const ok = missing.length === 0 && drops.length === 0;
    checks.push({
      kind: 'row-counts',
      name: 'critical tables',
      ok,
      latencyMs,
      detail: ok
        ? Object.entries(rowCounts)
            .map(([table, n]) => `${table}: ${n}`)
            .join(', ')
        : [
            ...missing.map(([table]) => `${table} is missing`),
            ...drops
              .filter((d) => d.after !== 'missing')
              .map((d) => `${d.table} dropped from ${d.before} to ${d.after} rows`),
          ].join(', '),
    });
  }
  if (db.ok) checks.push(...(await sqlChecks(databaseUrl, settings)));
  for (const check of settings.healthChecks) {
    const result = await checkHttpHealth(check);
    checks.push({
      kind: 'http',
      name: check.name,
      ok: result.ok,
      latencyMs: result.latencyMs,
      detail: result.ok
        ? `HTTP ${result.status} from ${result.url ?? check.url}`
        : (result.error ?? `HTTP ${result.status ?? 'no answer'}`),
    });
  }
  return { environment: settings.name, ok: checks.every((c) => c.ok), checks, rowCounts };
}
