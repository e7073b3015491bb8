export interface HttpHealthCheck {
  name: string;
  url: string;
  /** Slower than this counts as a failure (default 2000 ms, the guide's response-time alert). */
  maxLatencyMs?: number;
  /** Expected status (default: any 2xx). */
  expectStatus?: number;
  /** Give up after this long (default max(maxLatencyMs * 2, 5000) ms). */
  timeoutMs?: number;
}

export interface HttpHealthResult {
  name: string;
  url: string;
  ok: boolean;
  status: number | null;
  latencyMs: number;
  error?: string;
}

/** The URL without credentials or query string, safe to report. */
function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '<unparseable URL>';
  }
}

/** One GET against a health URL: status and latency against the check's limits. Never throws. */
export async function checkHttpHealth(check: HttpHealthCheck): Promise<HttpHealthResult> {
  const maxLatencyMs = check.maxLatencyMs ?? 2000;
  const timeoutMs = check.timeoutMs ?? Math.max(maxLatencyMs * 2, 5000);
  const url = displayUrl(check.url);
  const started = performance.now();
  try {
    const response = await fetch(check.url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { 'user-agent': 'pgshift-health-check' },
    });
    await response.arrayBuffer().catch(() => undefined);
    const latencyMs = Math.round(performance.now() - started);
    const statusOk = check.expectStatus ? response.status === check.expectStatus : response.ok;
    const fastEnough = latencyMs <= maxLatencyMs;
    const error = !statusOk
      ? `status ${response.status}, expected ${check.expectStatus ?? '2xx'}`
      : !fastEnough
        ? `took ${latencyMs} ms, limit ${maxLatencyMs} ms`
        : undefined;
    return {
      name: check.name,
      url,
      ok: !error,
      status: response.status,
      latencyMs,
      ...(error ? { error } : {}),
    };
  } catch (e) {
    const latencyMs = Math.round(performance.now() - started);
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const error =
      err.name === 'TimeoutError'
        ? `no response within ${timeoutMs} ms`
        : `request failed: ${err.cause?.code ?? err.cause?.message ?? err.message}`;
    return { name: check.name, url, ok: false, status: null, latencyMs, error };
  }
}
