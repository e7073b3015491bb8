import { databaseUrlProblem } from '../config/database-url';
import { UsageError } from '../errors';

/**
 * A database URL given by a flag, else by an environment variable; UsageError (exit 2) when
 * neither is set (`missing` says what to set) or when the one given is not a PostgreSQL URL
 * (the message names the flag or variable, never the value).
 */
export function databaseUrlFromFlagOrEnv(
  flag: { name: string; value: string | undefined },
  variable: string,
  missing: string,
): string {
  const url = flag.value ?? process.env[variable];
  if (!url) throw new UsageError(missing);
  const problem = databaseUrlProblem(url, flag.value !== undefined ? flag.name : variable);
  if (problem) throw new UsageError(problem);
  return url;
}
