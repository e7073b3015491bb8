/** Progress reported while a backup or restore runs (activities forward it as heartbeat details). */
export interface BackupProgress {
  phase:
    | 'connecting'
    | 'dumping'
    | 'listing'
    | 'checksumming'
    | 'reused'
    | 'waiting-for-migration-lock'
    | 'verifying'
    | 'creating-database'
    | 'restoring'
    | 'waiting-before-swap'
    | 'swapping'
    | 'done';
  /** Bytes written so far (dump) or total dump size (restore). */
  bytes?: number;
  /** Tables dumped or restored so far. */
  tables?: number;
  /** Process id of the running pg_dump / pg_restore. */
  pid?: number;
}

export type ProgressCallback = (progress: BackupProgress) => void;

/** Counts "dumping contents of table" / "processing data for table" lines of -v output. */
export function isTableDoneLine(line: string): boolean {
  return /: (dumping contents of table|processing data for table) /.test(line);
}
