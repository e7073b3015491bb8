import type { Finding, RunResult } from './types';

import { errorClass, errorWithDetail } from '../errors';

/**
 * Typed errors of the migration library. The base class and the errors every layer shares
 * live in src/errors.ts; they are re-exported here for existing imports.
 */
export { AuthenticationError, ConnectionError, PgshiftError, UsageError } from '../errors';

/** One or more migration files are malformed; every finding is listed, not just the first. */
export class MigrationFileError extends errorClass('MigrationFileError', 1) {
  constructor(
    readonly findings: Finding[],
    summary?: string,
  ) {
    super(
      summary ??
        findings
          .filter((f) => f.severity === 'error')
          .map((f) => `${f.file ?? ''}${f.line ? `:${f.line}` : ''}: ${f.message}`)
          .join('\n'),
    );
  }
}

/** A migration's SQL failed; nothing of it was committed (transactional files). */
export class MigrationExecutionError extends errorClass('MigrationExecutionError', 1) {
  /** Set by migrateUp/migrateDown: the per-migration results of the run that failed. */
  runResult?: RunResult;
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly sqlState?: string,
  ) {
    super(message);
  }
}

/** Applied files changed on disk, or applied versions have no file. */
export class DriftError extends errorWithDetail<'versions', number[]>(
  'DriftError',
  1,
  'versions',
) {}

/** Another run holds the advisory lock for longer than we were willing to wait. */
export class LockTimeoutError extends errorClass('LockTimeoutError', 1, { retryable: true }) {}

/**
 * A migration waited its whole lock wait budget for locks other sessions hold (named in
 * the message and `blockers`). Not retried by Temporal: the budget was the retry.
 */
export class LockWaitTimeoutError extends errorWithDetail<'blockers', string[]>(
  'LockWaitTimeoutError',
  1,
  'blockers',
) {}

/** A rollback test found that a rollback does not restore the schema. */
export class RollbackIntegrityError extends errorWithDetail<'differences', string[]>(
  'RollbackIntegrityError',
  1,
  'differences',
) {}

/** A rollback file differs from the one recorded in the ledger when its migration was applied. */
export class RollbackFileChangedError extends errorWithDetail<'files', string[]>(
  'RollbackFileChangedError',
  1,
  'files',
) {}

/**
 * The plan store has no file for a checksum, or the file there does not match it: names the
 * checksum and the store's directory (`checksum` holds the key that failed).
 */
export class PlanStoreError extends errorWithDetail<'checksum', string>(
  'PlanStoreError',
  2,
  'checksum',
) {}
