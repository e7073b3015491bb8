import { UsageError } from '../errors';

/** What a libpq tool needs to connect, with the password kept out of argv. */
export interface ToolConnection {
  /** -h/-p/-U/-d arguments: safe to show in `ps`. */
  args: string[];
  /** PGPASSWORD and SSL settings, passed through the child's environment only. */
  env: Record<string, string>;
  host: string;
  port: number;
  user: string;
  database: string;
}

/** URL query parameters libpq understands, mapped to their environment variables. */
const QUERY_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  options: 'PGOPTIONS',
};

/** Splits a postgres:// URL into tool arguments and environment (password never in args). */
export function toolConnection(url: string, databaseOverride?: string): ToolConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      'the database URL cannot be parsed: expected postgresql://<user>:<password>@<host>:<port>/<database>',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new UsageError(
      `the database URL must start with postgresql:// (got ${parsed.protocol}//)`,
    );
  const host =
    parsed.searchParams.get('host') ?? (decodeURIComponent(parsed.hostname) || 'localhost');
  const port = Number(parsed.port || parsed.searchParams.get('port') || 5432);
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'postgres';
  const database =
    databaseOverride ?? (decodeURIComponent(parsed.pathname.replace(/^\//, '')) || user);
  const env: Record<string, string> = {};
  if (parsed.password) env.PGPASSWORD = decodeURIComponent(parsed.password);
  for (const [key, variable] of Object.entries(QUERY_ENV)) {
    const value = parsed.searchParams.get(key);
    if (value !== null) env[variable] = value;
  }
  // -d takes a conninfo string when it contains "="; quote such names as a dbname= pair.
  const dbArg = database.includes('=')
    ? `dbname='${database.replace(/(['\\])/g, '\\$1')}'`
    : database;
  return {
    args: ['-h', host, '-p', String(port), '-U', user, '-d', dbArg],
    env,
    host,
    port,
    user,
    database,
  };
}

/** The same URL pointing at another database of the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + encodeURIComponent(database);
  return parsed.toString();
}
