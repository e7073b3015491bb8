/**
 * The shared vocabulary of the migration library. Everything here is plain data:
 * it can be serialised into a Temporal payload (no functions, no Dates, no Buffers).
 */

/** Header comments of a forward file (`-- Migration:`, `-- Description:`, …). */
export interface ForwardHeader {
  migration: string; // value of `-- Migration:` e.g. "007_add_customer_region.sql"
  description: string;
  author: string;
  date: string; // YYYY-MM-DD
}

/** Header comments of a rollback file (`-- Rollback:`, `-- Reverses migration:`, …). */
export interface RollbackHeader {
  rollback: string; // value of `-- Rollback:` e.g. "007_rollback.sql"
  reverses: string; // value of `-- Reverses migration:`
  author: string;
  date: string;
}

/** One SQL file as read from disk. */
export interface SqlFile {
  /** File name relative to the migrations folder, e.g. "007_add_customer_region.sql". */
  file: string;
  sql: string;
  /** sha256 hex of the file's exact bytes. */
  checksum: string;
}

/**
 * A forward migration and its rollback. `version` is the number prefix (7 for "007_…").
 * `transactional` is false when the forward file carries the `-- pgshift:no-transaction`
 * marker (needed for CREATE INDEX CONCURRENTLY); the rollback file may carry it too.
 */
export interface Migration {
  version: number;
  name: string; // "add_customer_region"
  forward: SqlFile & { header: ForwardHeader; transactional: boolean };
  rollback: SqlFile & { header: RollbackHeader; transactional: boolean };
  /** `-- pgshift:high-risk` marker in the forward file. */
  highRisk: boolean;
}

/**
 * An ordered, checksummed set of migrations: exactly what a workflow carries and
 * what a worker applies. `checksum` is sha256 over every file's name and checksum in order.
 */
export interface MigrationPlan {
  checksum: string;
  migrations: Migration[];
}

/** A file of a plan as a workflow carries it: its name and checksum; the SQL stays in the plan store. */
export interface PlanFileRef {
  file: string;
  /** sha256 hex of the file's exact bytes: its key in the plan store. */
  checksum: string;
  /** Absent: true (left out of the reference to keep it small). */
  transactional?: boolean;
  /** Present only in the inputs of runs started before the plan store (the whole file). */
  sql?: string;
}

/** A migration as a workflow carries it: version, name, flags and its files' checksums. */
export interface MigrationRef {
  version: number;
  name: string;
  forward: PlanFileRef;
  rollback: PlanFileRef;
  /** Absent: false. */
  highRisk?: boolean;
}

/**
 * What workflows carry of a plan: its checksum and, per migration, the names, flags and
 * checksums of its files, never their SQL (the activities load that from the plan store).
 * A MigrationPlan is a PlanRef too (older runs carried the whole plan).
 */
export interface PlanRef {
  checksum: string;
  migrations: MigrationRef[];
}

/**
 * What an activity call carries: a plan stored in the plan store, named by its checksum
 * (`migrations` absent), or a plan carried whole (runs started before the plan store, and the
 * empty plan of a rollback without files).
 */
export interface PlanArgument {
  checksum: string;
  migrations?: MigrationRef[];
}

/** A problem found in a file or a database; `file`/`line` name where, `object` names what. */
export interface Finding {
  severity: 'error' | 'warning';
  rule: string; // e.g. "missing-rollback", "duplicate-version", "squawk/adding-required-field"
  message: string; // a person can act on it: what, where, what to do
  file?: string;
  line?: number;
  object?: string;
  /** Set by `validate safety`: this finding makes its migration high risk (destructive or lock-heavy). */
  highRisk?: boolean;
}

/** A row of the ledger table `pgshift.migrations`. */
export interface LedgerEntry {
  version: number;
  name: string;
  forwardChecksum: string;
  rollbackChecksum: string;
  appliedAt: string; // ISO timestamp
  appliedBy: string;
  durationMs: number;
  /** 'migrate' | 'baseline' | 'repair' — how the row got there. */
  source: string;
}

export type MigrationStatus = 'Success' | 'Error' | 'NotExecuted' | 'Skipped';

/** Per-migration result of a run (kysely-style), what the CLI prints and activities return. */
export interface MigrationResult {
  version: number;
  name: string;
  direction: 'up' | 'down';
  status: MigrationStatus;
  durationMs: number;
  error?: string;
  /** Messages the migration raised (RAISE NOTICE and server notices), in order. */
  notices?: string[];
  /** Set when the migration waited for other sessions' locks or needed more than one attempt. */
  lockWait?: { waitedMs: number; attempts: number; blockers: string[]; actions: string[] };
}

export interface RunResult {
  direction: 'up' | 'down';
  dryRun: boolean;
  fromVersion: number;
  toVersion: number;
  results: MigrationResult[];
}

export interface StatusReport {
  currentVersion: number;
  applied: LedgerEntry[];
  pending: { version: number; name: string }[];
  /** Applied versions with no file (deleted or renamed). */
  missingFiles: number[];
  /** Applied versions whose file checksum differs from the ledger (drift). */
  drifted: { version: number; name: string; file: string; expected: string; actual: string }[];
}

/** Progress callback: the runner calls it before and after each migration (for heartbeats). */
export type ProgressListener = (event: {
  phase: 'start' | 'done';
  version: number;
  name: string;
  direction: 'up' | 'down';
  index: number; // 0-based position in this run
  total: number;
}) => void;

/** What a migration waits for while other sessions hold conflicting locks (for heartbeats). */
export interface LockWaitInfo {
  /** The file waiting, e.g. "007_add_customer_region.sql". */
  what: string;
  waitingForMs: number;
  attempts: number;
  /** e.g. "pid 4711 (billing, idle in transaction for 3m12s) holding AccessShareLock on customers" */
  blockers: string[];
}

export interface RunnerOptions {
  /** lock_timeout of each attempt, e.g. '200ms': an attempt never queues traffic for longer. */
  lockTimeout: string;
  /** Total time one migration may wait for other sessions' locks, over all attempts (ms). */
  lockWaitMs?: number;
  /** Opt-in: cancel active queries that block a migration for this long (ms). */
  cancelBlockersAfterMs?: number;
  /** Opt-in: terminate idle-in-transaction sessions that block a migration for this long (ms). */
  terminateIdleBlockersAfterMs?: number;
  /** Called while a migration waits for locks (about once a second). */
  onLockWait?: (info: LockWaitInfo) => void;
  /** statement_timeout for every migration statement, e.g. '15min'. */
  statementTimeout: string;
  /** How long to wait for the advisory lock before failing with LockTimeoutError (ms). */
  advisoryLockWaitMs: number;
  /** Recorded as applied_by in the ledger. */
  appliedBy: string;
  onProgress?: ProgressListener;
}

export const DEFAULT_RUNNER_OPTIONS: Omit<RunnerOptions, 'appliedBy'> = {
  lockTimeout: '200ms',
  lockWaitMs: 600_000,
  statementTimeout: '15min',
  advisoryLockWaitMs: 30_000,
};
