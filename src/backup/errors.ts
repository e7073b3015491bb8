import { errorClass, errorWithDetail } from '../errors';

/** pg_dump / pg_restore (of a version able to talk to the server) cannot be found. */
export class ToolMissingError extends errorWithDetail<'tool', string>(
  'ToolMissingError',
  2,
  'tool',
) {}

/** A backup or restore failed (pg_dump/pg_restore error, disk full, invalid archive). */
export class BackupError extends errorClass('BackupError', 1) {
  override readonly nonRetryable: boolean;
  constructor(
    message: string,
    readonly reason:
      'disk-full' | 'tool-failed' | 'invalid-archive' | 'incomplete' | 'bad-name' | 'taken',
    opts: { nonRetryable?: boolean } = {},
  ) {
    super(message);
    this.nonRetryable = opts.nonRetryable ?? true;
  }
}

/** The backup on disk does not match its manifest (tampered or corrupt): nothing was restored. */
export class BackupIntegrityError extends errorWithDetail<'backupDir', string>(
  'BackupIntegrityError',
  1,
  'backupDir',
) {}

/** The caller's AbortSignal fired: the child process was killed and partial files removed. */
export class BackupCancelledError extends errorClass('BackupCancelledError', 1, {
  retryable: true,
}) {}
