import { Client, type ClientConfig } from 'pg';
import { AuthenticationError, ConnectionError, PgshiftError } from './errors';

/** The URL without its password (userinfo or `?password=`), safe for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()])
      if (/^(ssl)?pass(word|wd)?$|^pwd$|secret|token|key$/i.test(key))
        parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
]);

/** Maps driver errors that mean "cannot reach or log in" to ConnectionError, naming the target. */
export function toConnectionError(error: unknown, url: string): unknown {
  // Already typed (e.g. a migration error whose hint mentions a timeout): keep it as it is.
  if (error instanceof PgshiftError) return error;
  const e = error as { code?: string; message?: string };
  const where = redactUrl(url);
  if (e?.code && CONNECTION_ERROR_CODES.has(e.code))
    return new ConnectionError(
      `cannot reach PostgreSQL at ${where} (${e.code}): check that the server runs and the host and port are right`,
    );
  if (e?.code === '28P01' || e?.code === '28000')
    return new AuthenticationError(
      `PostgreSQL at ${where} refused the credentials (${e.message}): check the user and password in the database URL`,
    );
  if (e?.code === '3D000')
    return new ConnectionError(`database does not exist at ${where}: ${e.message}`);
  if (e?.code === '55000' && /not currently accepting connections/.test(e.message ?? ''))
    return new ConnectionError(
      `${e.message} (${where}): the database refuses new connections (ALLOW_CONNECTIONS false or being restored); wait for it to come back or ask its administrator`,
    );
  if (e?.code === '57P01' || e?.code === '57P02' || e?.code === '57P03')
    return new ConnectionError(
      `PostgreSQL at ${where} ended or refused the session (${e.code}: ${e.message}): the server is shutting down, restarting or a session was terminated; retry when it is back`,
    );
  if (e?.message?.includes('Connection terminated') || e?.message?.includes('timeout expired'))
    return new ConnectionError(
      `lost or timed out the connection to PostgreSQL at ${where}: ${e.message}`,
    );
  return error;
}

/** Opens a client; connection failures become ConnectionError without the password. */
export async function connect(url: string, extra: Partial<ClientConfig> = {}): Promise<Client> {
  const client = new Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'pgshift',
    ...extra,
  });
  client.on('error', () => {
    /* a dropped idle connection surfaces on the next query; do not crash the process */
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw toConnectionError(error, url);
  }
  return client;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url);
  try {
    return await fn(client);
  } catch (error) {
    throw toConnectionError(error, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `fn` in BEGIN … COMMIT, rolling back on any error. */
export async function withTransaction<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
