/** Request counts, error rate and latency percentiles over the most recent requests. */
export interface MetricsSnapshot {
  requests: number;
  errors: number;
  window: { requests: number; errors: number; errorRatePercent: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  since: string;
}

const WINDOW = 500;

export class RequestMetrics {
  private total = 0;
  private failed = 0;
  private recent: { ms: number; error: boolean }[] = [];
  private since = new Date().toISOString();

  record(durationMs: number, status: number): void {
    const error = status >= 500;
    this.total++;
    if (error) this.failed++;
    this.recent.push({ ms: durationMs, error });
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  reset(): void {
    this.total = 0;
    this.failed = 0;
    this.recent = [];
    this.since = new Date().toISOString();
  }

  snapshot(): MetricsSnapshot {
    const sorted = this.recent.map((r) => r.ms).sort((a, b) => a - b);
    const windowErrors = this.recent.filter((r) => r.error).length;
    const pick = (p: number) =>
      sorted.length
        ? round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)])
        : 0;
    return {
      requests: this.total,
      errors: this.failed,
      window: {
        requests: this.recent.length,
        errors: windowErrors,
        errorRatePercent: this.recent.length ? round((100 * windowErrors) / this.recent.length) : 0,
      },
      latencyMs: { p50: pick(50), p95: pick(95), p99: pick(99), max: round(sorted.at(-1) ?? 0) },
      since: this.since,
    };
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
