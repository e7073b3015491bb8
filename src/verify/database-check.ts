import { connect } from '../migrations/database';

export interface DatabaseCheckResult {
  ok: boolean;
  latencyMs: number;
  serverVersion?: string;
  /** Credential-free reason (ConnectionError message). */
  error?: string;
}

/** Connects and runs `SELECT 1`; reports failures instead of throwing. */
export async function checkDatabase(
  url: string,
  opts: { timeoutMs?: number } = {},
): Promise<DatabaseCheckResult> {
  const started = performance.now();
  let client;
  try {
    client = await connect(url, {
      connectionTimeoutMillis: opts.timeoutMs ?? 5000,
      statement_timeout: opts.timeoutMs ?? 5000,
    });
    const { rows } = await client.query<{ ok: number; version: string }>(
      `SELECT 1 AS ok, current_setting('server_version') AS version`,
    );
    return {
      ok: rows[0].ok === 1,
      latencyMs: Math.round(performance.now() - started),
      serverVersion: rows[0].version.split(' ')[0],
    };
  } catch (error) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: (error as Error).message,
    };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
