import { checkHealth, type HealthCheckSpec, type HealthResult } from '../app/health';

/** One HTTP health check: `maxLatencyMs` default 2000, `expectStatus` default 200. */
export type HttpHealthCheck = HealthCheckSpec;

export interface HttpHealthResult extends Omit<HealthResult, 'status'> {
  /** HTTP status, null when there was no answer. */
  status: number | null;
}

/**
 * One GET against a health URL, judged on status and latency; never throws. The request
 * itself is the application layer's `checkHealth` (src/app/health.ts), shared, not duplicated.
 */
export async function checkHttpHealth(
  check: HttpHealthCheck,
  signal?: AbortSignal,
): Promise<HttpHealthResult> {
  const result = await checkHealth(check, signal);
  return { ...result, status: result.status === 0 ? null : result.status };
}
