import { connect } from '../migrations/database';
import { quoteTableName } from './row-counts';
import { checkHttpHealth, type HttpHealthCheck, type HttpHealthResult } from './http-health';
import type { Baseline, MetricsSample } from './thresholds';

export interface MetricsTarget {
  databaseUrl: string;
  healthChecks: HttpHealthCheck[];
  /** Read-only queries timed as "probe latency" (default `SELECT 1`). */
  probeQueries?: string[];
  /**
   * Tables the plan touches (quoted names): each existing one is read (`SELECT 1 FROM t
   * LIMIT 1`) in every probe round, so a lock held or queued on them shows as latency.
   */
  probeTables?: string[];
  /** Requests per health check and rounds of probe queries (baseline default 5, sample default 1). */
  samples?: number;
  /** The application's metrics endpoint: JSON with `errorRatePercent`, or `requests` and `errors`. */
  metricsUrl?: string;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function sampleHealth(
  checks: HttpHealthCheck[],
  samples: number,
): Promise<Map<string, HttpHealthResult[]>> {
  const byName = new Map<string, HttpHealthResult[]>();
  await Promise.all(
    checks.map(async (check) => {
      const results: HttpHealthResult[] = [];
      for (let i = 0; i < samples; i++) results.push(await checkHttpHealth(check));
      byName.set(check.name, results);
    }),
  );
  return byName;
}

/** Slowest per-check median of successful requests. */
function healthLatency(byName: Map<string, HttpHealthResult[]>): {
  overall: number | null;
  byName: Record<string, number>;
} {
  const medians: Record<string, number> = {};
  for (const [name, results] of byName) {
    const m = median(results.filter((r) => r.ok || r.status !== null).map((r) => r.latencyMs));
    if (m !== null) medians[name] = m;
  }
  const values = Object.values(medians);
  return { overall: values.length ? Math.max(...values) : null, byName: medians };
}

interface DatabaseSample {
  ok: boolean;
  /** The tables read by each probe round. */
  probed?: string[];
  probeLatencyMs: number | null;
  connectionsPercent: number | null;
  error?: string;
}

async function sampleDatabase(
  url: string,
  queries: string[],
  rounds: number,
  tables: string[] = [],
): Promise<DatabaseSample> {
  let client;
  try {
    client = await connect(url, { connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
    const { rows } = await client.query<{ used: number; max: number }>(
      `SELECT count(*) FILTER (WHERE backend_type = 'client backend')::int AS used,
              current_setting('max_connections')::int AS max FROM pg_stat_activity`,
    );
    // Only tables that exist now (a plan's new tables do not, before the deploy).
    const existing = tables.length
      ? (
          await client.query<{ name: string }>(
            `SELECT to_regclass(n)::text AS name FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NOT NULL`,
            [tables],
          )
        ).rows.map((r) => r.name)
      : [];
    const probes = [
      ...queries,
      ...existing.map((name) => `SELECT 1 FROM ${quoteTableName(name)} LIMIT 1`),
    ];
    const durations: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const started = performance.now();
      for (const sql of probes) await client.query(sql);
      durations.push(performance.now() - started);
    }
    return {
      ok: true,
      probed: existing,
      probeLatencyMs: median(durations),
      connectionsPercent: (rows[0].used / rows[0].max) * 100,
    };
  } catch (error) {
    return {
      ok: false,
      probeLatencyMs: null,
      connectionsPercent: null,
      error: (error as Error).message,
    };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/** `samples` rounds of the health checks and of the probe queries, side by side. */
function sampleTarget(target: MetricsTarget, samples: number) {
  return Promise.all([
    sampleHealth(target.healthChecks, samples),
    sampleDatabase(
      target.databaseUrl,
      target.probeQueries ?? ['SELECT 1'],
      samples,
      target.probeTables,
    ),
  ]);
}

/** Latency of the health URLs and probe queries before a deploy: the reference for degradation. */
export async function measureBaseline(target: MetricsTarget): Promise<Baseline> {
  const samples = Math.max(1, target.samples ?? 5);
  const [health, db] = await sampleTarget(target, samples);
  const latency = healthLatency(health);
  return {
    healthLatencyMs: latency.overall,
    healthLatencyByName: latency.byName,
    probeLatencyMs: db.probeLatencyMs,
    ...(db.probed?.length ? { probeTables: db.probed } : {}),
    at: new Date().toISOString(),
  };
}

/** Error rate from the application's metrics endpoint, when it answers with a usable shape. */
async function readAppErrorRate(metricsUrl: string): Promise<number | null> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return null;
    const body = (await response.json()) as Record<string, unknown>;
    if (typeof body.errorRatePercent === 'number') return body.errorRatePercent;
    const requests = Number(body.requests ?? body.requestCount);
    const errors = Number(body.errors ?? body.errorCount);
    if (Number.isFinite(requests) && Number.isFinite(errors))
      return requests > 0 ? (errors / requests) * 100 : 0;
    return null;
  } catch {
    return null;
  }
}

/** One observation for evaluateThresholds: health, error rate, connections, probe latency. */
export async function sampleMetrics(target: MetricsTarget): Promise<MetricsSample> {
  const samples = Math.max(1, target.samples ?? 1);
  const [[health, db], appErrorRate] = await Promise.all([
    sampleTarget(target, samples),
    target.metricsUrl ? readAppErrorRate(target.metricsUrl) : Promise.resolve(null),
  ]);
  const all = [...health.values()].flat();
  const failed = all.filter((r) => !r.ok);
  const failures = failed.map((r) => `health ${r.name}: ${r.error}`);
  if (!db.ok) failures.push(`database: ${db.error}`);
  const fromMetrics = appErrorRate !== null;
  return {
    healthOk: failed.length === 0,
    dbOk: db.ok,
    healthLatencyMs: healthLatency(health).overall,
    errorRatePercent: fromMetrics
      ? appErrorRate
      : all.length
        ? (failed.length / all.length) * 100
        : null,
    errorRateSource: fromMetrics ? 'metrics' : all.length ? 'health-requests' : 'none',
    requestCount: all.length,
    dbConnectionsPercent: db.connectionsPercent,
    probeLatencyMs: db.probeLatencyMs,
    failures,
    at: new Date().toISOString(),
  };
}
