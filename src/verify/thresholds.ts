/**
 * The guide's "Immediate Rollback Triggers" and "Alert Thresholds" as a pure function.
 * No imports at all: workflows call it inside the Temporal sandbox.
 */

export interface Thresholds {
  /** Error rate above this percentage (guide: 5, P1 alert). */
  errorRatePercent: number;
  /** Health response time above this (guide: 2000 ms, P2 alert). */
  responseTimeMs: number;
  /** Connections in use above this share of max_connections (guide: 80, P1 alert). */
  dbConnectionsPercent: number;
  /** Latency increase over the baseline above this percentage (guide: 50, immediate rollback). */
  performanceDegradationPercent: number;
  /** Failed health samples in a row that mean "critical functionality broken" (default 3). */
  consecutiveHealthFailures: number;
  /**
   * Increases smaller than this many ms never count as degradation: 1 ms → 3 ms is +200%
   * but noise (default 25).
   */
  minDegradationMs?: number;
  /** An error rate measured from fewer health requests than this is ignored (default 20); the app's metrics always count. */
  minRequestsForErrorRate?: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  errorRatePercent: 5,
  responseTimeMs: 2000,
  dbConnectionsPercent: 80,
  performanceDegradationPercent: 50,
  consecutiveHealthFailures: 3,
  minDegradationMs: 25,
  minRequestsForErrorRate: 20,
};

/** Measured before the deploy, the reference for "performance degradation". */
export interface Baseline {
  /** Slowest of the per-URL medians, ms (null when no health checks are configured). */
  healthLatencyMs: number | null;
  /** Per health check name, median ms. */
  healthLatencyByName: Record<string, number>;
  /** Median time of one round of the probe queries, ms (null when the database was unreachable). */
  probeLatencyMs: number | null;
  /** The tables the probe read (those of the plan that existed): samples read the same ones. */
  probeTables?: string[];
  at: string;
}

/** One observation taken during the verification or monitoring window. */
export interface MetricsSample {
  /** Every health request of this sample succeeded (status and latency). */
  healthOk: boolean;
  /** `SELECT 1` and the probe queries ran. */
  dbOk: boolean;
  /** Slowest of the per-URL medians of successful requests, ms. */
  healthLatencyMs: number | null;
  errorRatePercent: number | null;
  errorRateSource: 'metrics' | 'health-requests' | 'none';
  /** Requests the error rate was computed from. */
  requestCount: number;
  dbConnectionsPercent: number | null;
  probeLatencyMs: number | null;
  /** What failed, for the report: "health api: status 500", "database: …". */
  failures: string[];
  at: string;
}

export type RollbackTrigger =
  | 'critical-functionality-broken'
  | 'performance-degradation'
  | 'error-rate'
  | 'response-time'
  | 'db-connections';

export interface Breach {
  trigger: RollbackTrigger;
  /** The guide's alert level: immediate rollback, P1 or P2. */
  severity: 'immediate' | 'P1' | 'P2';
  detail: string;
}

export interface ThresholdHistory {
  consecutiveHealthFailures: number;
}

export interface ThresholdEvaluation {
  breached: Breach[];
  history: ThresholdHistory;
}

function degradation(
  what: string,
  base: number | null,
  now: number | null,
  t: Thresholds,
): Breach | undefined {
  if (base === null || now === null || base < 0) return undefined;
  const minMs = t.minDegradationMs ?? 25;
  if (now - base < minMs) return undefined;
  const percent = base === 0 ? Infinity : ((now - base) / base) * 100;
  if (percent <= t.performanceDegradationPercent) return undefined;
  return {
    trigger: 'performance-degradation',
    severity: 'immediate',
    detail: `${what} ${Math.round(now)} ms vs baseline ${Math.round(base)} ms (+${Number.isFinite(percent) ? Math.round(percent) : '∞'}%, limit ${t.performanceDegradationPercent}%)`,
  };
}

/**
 * Compares one sample with the baseline and the thresholds. `history` carries the count of
 * consecutive failed samples between calls; the returned history replaces it.
 */
export function evaluateThresholds(
  baseline: Baseline,
  sample: MetricsSample,
  thresholds: Thresholds = DEFAULT_THRESHOLDS,
  history: ThresholdHistory = { consecutiveHealthFailures: 0 },
): ThresholdEvaluation {
  const breached: Breach[] = [];
  const failing = !sample.healthOk || !sample.dbOk;
  const consecutive = failing ? history.consecutiveHealthFailures + 1 : 0;
  if (failing && consecutive >= thresholds.consecutiveHealthFailures)
    breached.push({
      trigger: 'critical-functionality-broken',
      severity: 'immediate',
      detail: `${consecutive} failed checks in a row (limit ${thresholds.consecutiveHealthFailures})${sample.failures.length ? `: ${sample.failures.join('; ')}` : ''}`,
    });

  for (const found of [
    degradation('health latency', baseline.healthLatencyMs, sample.healthLatencyMs, thresholds),
    degradation('probe query latency', baseline.probeLatencyMs, sample.probeLatencyMs, thresholds),
  ])
    if (found) breached.push(found);

  const errorRateCounts =
    sample.errorRateSource === 'metrics' ||
    (sample.errorRateSource === 'health-requests' &&
      sample.requestCount >= (thresholds.minRequestsForErrorRate ?? 20));
  if (
    errorRateCounts &&
    sample.errorRatePercent !== null &&
    sample.errorRatePercent > thresholds.errorRatePercent
  )
    breached.push({
      trigger: 'error-rate',
      severity: 'P1',
      detail: `error rate ${sample.errorRatePercent.toFixed(1)}% > ${thresholds.errorRatePercent}% (${sample.errorRateSource === 'metrics' ? 'application metrics' : `${sample.requestCount} health requests`})`,
    });

  if (sample.healthLatencyMs !== null && sample.healthLatencyMs > thresholds.responseTimeMs)
    breached.push({
      trigger: 'response-time',
      severity: 'P2',
      detail: `response time ${Math.round(sample.healthLatencyMs)} ms > ${thresholds.responseTimeMs} ms`,
    });

  if (
    sample.dbConnectionsPercent !== null &&
    sample.dbConnectionsPercent > thresholds.dbConnectionsPercent
  )
    breached.push({
      trigger: 'db-connections',
      severity: 'P1',
      detail: `database connections at ${sample.dbConnectionsPercent.toFixed(1)}% of max_connections > ${thresholds.dbConnectionsPercent}%`,
    });

  return { breached, history: { consecutiveHealthFailures: consecutive } };
}
