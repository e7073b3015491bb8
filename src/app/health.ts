import { ConnectionError } from '../errors';
import { describeFetchError } from './hooks';
import { redactSecrets } from './redact';
import { assertAppVersion } from './version';

/** One HTTP health check (config `healthChecks[]`); defaults as in the config schema. */
export interface HealthCheckSpec {
  name: string;
  url: string;
  maxLatencyMs?: number; // default 2000
  expectStatus?: number; // default 200
  timeoutMs?: number; // default 10000
}

export interface HealthResult {
  name: string;
  url: string;
  ok: boolean;
  /** HTTP status, 0 when there was no answer. */
  status: number;
  /** Time to the full response, ms (the guide's `curl -w` total time). */
  latencyMs: number;
  /** Why it is not ok: wrong status, too slow, no answer. */
  error?: string;
}

/** Requests the URL once; ok when the status is the expected one and it answered within maxLatencyMs. */
export async function checkHealth(
  check: HealthCheckSpec,
  signal?: AbortSignal,
): Promise<HealthResult> {
  const expectStatus = check.expectStatus ?? 200;
  const maxLatencyMs = check.maxLatencyMs ?? 2000;
  const timeoutMs = check.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const url = redactSecrets(check.url);
  const started = performance.now();
  try {
    const response = await fetch(check.url, {
      headers: { accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    await response.arrayBuffer();
    const latencyMs = Math.round(performance.now() - started);
    const problems: string[] = [];
    if (response.status !== expectStatus)
      problems.push(`HTTP ${response.status}, expected ${expectStatus}`);
    if (latencyMs > maxLatencyMs)
      problems.push(`took ${latencyMs} ms, over the ${maxLatencyMs} ms limit`);
    return {
      name: check.name,
      url,
      ok: problems.length === 0,
      status: response.status,
      latencyMs,
      ...(problems.length ? { error: problems.join('; ') } : {}),
    };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    const reason = signal?.aborted
      ? 'cancelled'
      : timeout.aborted
        ? `no answer within ${timeoutMs} ms`
        : `cannot reach ${url}: ${describeFetchError(error)}`;
    return { name: check.name, url, ok: false, status: 0, latencyMs, error: reason };
  }
}

/** Runs every check at once. */
export function checkAllHealth(
  checks: HealthCheckSpec[],
  signal?: AbortSignal,
): Promise<HealthResult[]> {
  return Promise.all(checks.map((check) => checkHealth(check, signal)));
}

/**
 * The application's deployed version from its version URL: JSON `{version}` or plain text.
 * An unreachable or failing URL is a ConnectionError (retryable) naming the URL.
 */
export async function readAppVersion(versionUrl: string, timeoutMs = 10_000): Promise<string> {
  const url = redactSecrets(versionUrl);
  let response: Response;
  try {
    response = await fetch(versionUrl, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ConnectionError(
      `cannot read the application version from ${url}: ${describeFetchError(error)}`,
    );
  }
  const text = (await response.text()).trim();
  if (!response.ok)
    throw new ConnectionError(
      `the application version URL ${url} answered HTTP ${response.status}`,
    );
  let version: string | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (
      parsed &&
      typeof parsed === 'object' &&
      typeof (parsed as { version?: unknown }).version === 'string'
    )
      version = (parsed as { version: string }).version;
    else if (typeof parsed === 'string') version = parsed;
  } catch {
    /* plain text */
  }
  if (version === undefined) {
    if (!text || text.length > 200 || text.startsWith('{'))
      throw new ConnectionError(
        `the application version URL ${url} did not return a version ({"version": "…"} or plain text)`,
      );
    version = text;
  }
  // The answer reaches hook arguments and history: only a well-formed version passes.
  return assertAppVersion(version, `the application version URL ${url} answered`);
}
