/**
 * pgshift's public library: the parts that run on their own, without Temporal — migration
 * files and plans, the runner, status, drift, baseline and repair, rollback tests, the
 * `validate` checks, backups, verification and the config loader. Nothing here imports the
 * CLI, the Temporal layer (src/temporal, workflows, activities) or the development tools
 * (src/dev); test/library/layers.test.ts keeps it so.
 *
 *   import { loadPlan, migrateUp, withClient } from 'pgshift';
 */

// Errors: every error pgshift throws is a PgshiftError with a stable `code` and an `exitCode`.
export { AuthenticationError, ConnectionError, PgshiftError, UsageError } from './errors';
export {
  DriftError,
  LockTimeoutError,
  LockWaitTimeoutError,
  MigrationExecutionError,
  MigrationFileError,
  PlanStoreError,
  RollbackFileChangedError,
  RollbackIntegrityError,
} from './migrations/errors';

// Migration files and plans.
export {
  fileChecksum,
  loadMigrations,
  loadPlan,
  type SqlCheck as SqlCheckMode,
} from './migrations/files';
export { planChecksum, pendingMigrations, highestVersion } from './migrations/plan';
export { PlanStore } from './migrations/plan-store';
export { toPlanRef } from './migrations/plan-ref';
export type {
  Finding,
  LedgerEntry,
  Migration,
  MigrationPlan,
  MigrationRef,
  MigrationResult,
  PlanFileRef,
  PlanRef,
  MigrationStatus,
  ProgressListener,
  RunnerOptions,
  RunResult,
  StatusReport,
} from './migrations/types';

// Connections and the runner.
export { connect, redactUrl, withClient, withTransaction } from './migrations/database';
export { applyMigration, migrateDown, migrateUp } from './migrations/runner';
export { DEFAULT_RUNNER_OPTIONS } from './migrations/types';
export { compareLedger, readStatus } from './migrations/status';
export { assertNoDrift, describeDrift, validateApplied } from './migrations/drift';
export { baseline } from './migrations/baseline';
export { repair, type RepairResult } from './migrations/repair';

// Rollback tests.
export {
  assertRollbacksPassed,
  testAllRollbacks,
  testRollback,
  type RollbackTestOptions,
  type RollbackTestReport,
  type RollbackTestResult,
} from './migrations/rollback-test';
export { testRollbacksDryRun } from './migrations/rollback-dry-run';

// validate deps, validate safety.
export { validateDeps, type DepsReport, type MigrationDependencies } from './lint/deps';
export {
  assessRisk,
  validateSafety,
  type RiskAssessment,
  type SafetyOptions,
  type SafetyReport,
} from './lint/safety';
export { countFindings, formatFindings } from './lint/format-findings';

// Backups and verification.
export * from './backup';
export * from './verify';

// The config file.
export {
  ConfigError,
  configJsonSchema,
  environmentConfig,
  formatDuration,
  loadConfig,
  parseConfig,
  parseDuration,
  resolveDatabaseUrl,
  type ConfigIssue,
  type EnvironmentConfig,
  type LoadConfigOptions,
  type PgshiftConfig,
  type PgshiftConfigInput,
} from './config';

// One formatter for versions, durations and counts.
export * from './format';
