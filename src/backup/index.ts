export {
  createBackup,
  toBackupName,
  runScopedBackupName,
  defaultJobs,
  type BackupRun,
  type CreateBackupOptions,
} from './create-backup';
export { restoreBackup, type RestoreBackupOptions, type RestoreResult } from './restore-backup';
export { verifyBackup, type BackupVerification } from './verify-backup';
export { listBackups, readManifest, type BackupManifest, type BackupFormat } from './manifest';
export { findPgTool, type FoundTool } from './pg-tools';
export type { BackupProgress, ProgressCallback } from './progress';
export {
  ToolMissingError,
  BackupError,
  BackupIntegrityError,
  BackupCancelledError,
} from './errors';
export {
  preservedDatabaseName,
  isPreservedDatabaseName,
  dropPreservedDatabase,
} from './preserved-database';
