import { MigrationExecutionError } from './errors';
import { lineAndColumn, type SqlStatement } from './sql-statements';
import type { SqlFile } from './types';

export interface PgServerError {
  code?: string;
  message?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

const HINTS: Record<string, string> = {
  '55P03':
    'lock_timeout expired: another session holds a conflicting lock on the object; find it in pg_stat_activity / pg_locks and retry when it is gone (or raise --lock-timeout)',
  '57014':
    'statement_timeout expired: the statement ran longer than allowed; raise --statement-timeout or split the migration',
};

/** Whether an error came from the PostgreSQL server (it carries a SQLSTATE). */
export function isServerError(error: unknown): error is PgServerError {
  const code = (error as PgServerError)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/** The source line with a caret under `column`, graphile-migrate style. */
function caret(text: string, line: number, column: number): string {
  const source = text.split('\n')[line - 1] ?? '';
  const gutter = `${line} | `;
  return `  ${gutter}${source}\n  ${' '.repeat(gutter.length + Math.max(0, column - 1))}^`;
}

/**
 * Turns a server error raised by `statement` of `file` into a MigrationExecutionError
 * naming file:line, SQLSTATE and the PostgreSQL message, with a caret under the position.
 * The error's detail and context are left out: they can copy production rows.
 */
export function toExecutionError(
  file: SqlFile,
  statement: SqlStatement | undefined,
  error: PgServerError,
  transactional: boolean,
): MigrationExecutionError {
  const position = Number(error.position);
  let line = statement?.line;
  let column = 1;
  if (statement && Number.isFinite(position) && position > 0) {
    ({ line, column } = lineAndColumn(file.sql, statement.start + position - 1));
  } else if (statement) {
    column = lineAndColumn(file.sql, statement.start).column;
  }
  const where = line ? `${file.file}:${line}` : file.file;
  const parts = [`${where}: ${error.message} (SQLSTATE ${error.code})`];
  if (line) parts.push(caret(file.sql, line, column));
  // PostgreSQL's detail ("Key (email)=(…)", "Failing row contains (…)") and context can
  // hold row data: they never leave the database through pgshift (history, reports,
  // notifications); the server log keeps them.
  if (error.detail || error.where)
    parts.push('  detail withheld (it can hold row data): see the PostgreSQL server log');
  // 57014 is also a cancellation (pg_cancel_backend): only a timeout gets the timeout hint.
  const known =
    error.code === '57014' && !/statement timeout/.test(error.message ?? '')
      ? undefined
      : error.code && HINTS[error.code];
  const hint = known || error.hint;
  if (hint) parts.push(`  hint: ${hint}`);
  parts.push(
    transactional
      ? `  ${file.file} was rolled back: nothing of it was applied and no ledger row was written.`
      : `  ${file.file} runs without a transaction: the statements before line ${line ?? '?'} stay applied; fix the file and run it again (its statements must be idempotent).`,
  );
  return new MigrationExecutionError(parts.join('\n'), file.file, line, error.code);
}
