import { escapeLiteral, Query, type Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { assertNoDrift } from './drift';
import { MigrationExecutionError, UsageError } from './errors';
import {
  clearStarted,
  deleteLedgerEntry,
  ensureLedger,
  insertLedgerEntry,
  ledgerDeleteSql,
  ledgerInsertSql,
  markStarted,
  readLedger,
  readStarted,
  recordBlockerAction,
} from './ledger';
import { withAdvisoryLock } from './lock';
import { lockTargets, statementLockTargets, type LockTarget } from './lock-targets';
import {
  BLOCKED_SQLSTATE,
  blockerGuardSql,
  ensureBlockerGuard,
  blockerMinAgeMs,
  withLockAwareRetry,
  type LockAwareOutcome,
} from './lock-wait';
import { highestVersion, pendingMigrations } from './plan';
import { isServerError, toExecutionError, type PgServerError } from './sql-error';
import { ensureParser, executableStatements, parseSql, type SqlStatement } from './sql-statements';
import { compareLedger } from './status';
import type {
  LedgerEntry,
  Migration,
  MigrationPlan,
  MigrationResult,
  RunResult,
  RunnerOptions,
  SqlFile,
} from './types';

/** Default of RunnerOptions.lockWaitMs: how long one migration may wait for locks. */
const DEFAULT_LOCK_WAIT_MS = 600_000;

/**
 * The runner: lock → ensure ledger → read the ledger once → refuse drift → apply each
 * pending migration in its own transaction together with its ledger row → unlock.
 *
 * `migrate up --dry-run` (and `down --dry-run`) has no side effects at all: it takes no
 * lock, creates nothing (not even the ledger schema) and executes no migration; it reads
 * the ledger when there is one, refuses drift like a real run, and reports what would run
 * (every migration with status NotExecuted).
 */

const TIMEOUT = /^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$/;

const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A checked timeout ('200ms', '5s', '250' = ms, PostgreSQL's units) in milliseconds. */
function timeoutMs(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(value);
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? 'ms'] : 0;
}

/** A lock_timeout / statement_timeout value as a safe SQL literal. */
function timeoutLiteral(value: string, option: string): string {
  if (!TIMEOUT.test(value))
    throw new UsageError(
      `${option} "${value}" is not a duration: write a number with an optional unit (ms, s, min, h, d), e.g. 5s or 15min`,
    );
  return escapeLiteral(value.trim());
}

async function runStatements(
  client: Client,
  file: SqlFile,
  statements: SqlStatement[],
  transactional: boolean,
): Promise<void> {
  for (const statement of statements) {
    try {
      await client.query(statement.text);
    } catch (error) {
      if (isServerError(error)) throw toExecutionError(file, statement, error, transactional);
      throw error;
    }
  }
}

const SEPARATOR = '\n;\n';

/**
 * Runs a transactional file in ONE round trip: `BEGIN; SET LOCAL …; <statements>; <ledger
 * row>; COMMIT` as a single simple-query message (PostgreSQL 13+ applies statement_timeout
 * to each statement of it). On failure the transaction is rolled back and the error is
 * mapped to the statement it came from: by its position when PostgreSQL reports one,
 * otherwise by re-running the statements one at a time in a transaction that is rolled back.
 */
async function runTransactional(
  client: Client,
  file: SqlFile,
  statements: SqlStatement[],
  prefix: string,
  ledgerSql: string,
): Promise<void> {
  const { text, parts } = transactionText(statements, prefix, ledgerSql, 0);
  try {
    await client.query(text);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw await explainTransactionalFailure(client, file, statements, prefix, parts, error);
  }
}

interface StatementPart {
  statement: SqlStatement;
  /** Index of the statement's first character in the text sent. */
  offset: number;
}

/** `BEGIN; SET LOCAL …; <statements>; <ledger row>; COMMIT`, starting at `base` of the text sent. */
function transactionText(
  statements: SqlStatement[],
  prefix: string,
  ledgerSql: string,
  base: number,
): { text: string; parts: StatementPart[] } {
  const parts: StatementPart[] = [];
  let text = prefix;
  for (const statement of statements) {
    text += SEPARATOR;
    parts.push({ statement, offset: base + text.length });
    text += statement.text;
  }
  text += `${SEPARATOR}${ledgerSql}${SEPARATOR}COMMIT`;
  return { text, parts };
}

/**
 * The error a failed transactional attempt throws (after its ROLLBACK): the guard's
 * BLOCKED_SQLSTATE and non-server errors as they are; a server error mapped to the statement
 * it came from, by PostgreSQL's position in the text sent when it reports one, otherwise by
 * re-running the statements one at a time in a transaction that is rolled back.
 */
async function explainTransactionalFailure(
  client: Client,
  file: SqlFile,
  statements: SqlStatement[],
  prefix: string,
  parts: StatementPart[],
  error: unknown,
): Promise<unknown> {
  if (!isServerError(error) || error.code === BLOCKED_SQLSTATE) return error;
  const position = Number(error.position);
  if (Number.isFinite(position) && position > 0) {
    const part = parts.find(
      (p) => position - 1 >= p.offset && position - 1 < p.offset + p.statement.text.length,
    );
    if (part)
      return toExecutionError(
        file,
        part.statement,
        { ...error, message: error.message, position: String(position - part.offset) },
        true,
      );
  }
  // Timeouts are not re-run to be located: a lock timeout would queue traffic once more.
  const located =
    error.code === '57014' || error.code === '55P03'
      ? undefined
      : await locateFailure(client, statements, prefix);
  if (located && located.error.code === error.code)
    return toExecutionError(file, located.statement, located.error, true);
  return toExecutionError(file, undefined, error, true);
}

/** Re-runs statements one by one inside a transaction that is always rolled back. */
async function locateFailure(
  client: Client,
  statements: SqlStatement[],
  prefix: string,
): Promise<{ statement: SqlStatement; error: PgServerError } | undefined> {
  await client.query(prefix);
  try {
    for (const statement of statements) {
      try {
        await client.query(statement.text);
      } catch (error) {
        if (isServerError(error)) return { statement, error };
        throw error;
      }
    }
    return undefined;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The (quoted, qualified) name of the index a CREATE INDEX CONCURRENTLY names, if any. */
function concurrentIndexName(statement: SqlStatement): string | undefined {
  const node = statement.node as {
    concurrent?: boolean;
    idxname?: string;
    relation?: { schemaname?: string };
  };
  if (statement.nodeType !== 'IndexStmt' || !node.concurrent || !node.idxname) return undefined;
  const schema = node.relation?.schemaname;
  return schema ? `${quoteIdent(schema)}.${quoteIdent(node.idxname)}` : quoteIdent(node.idxname);
}

/** The index named `name` when it exists and is INVALID (a failed or killed concurrent build). */
async function invalidIndex(
  client: Client,
  name: string,
): Promise<{ name: string; building: boolean } | undefined> {
  const { rows } = await client.query<{ name: string; building: boolean }>(
    `SELECT c.oid::regclass::text AS name,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = c.oid) AS building
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.oid = to_regclass($1) AND NOT i.indisvalid`,
    [name],
  );
  return rows[0];
}

/** What a transactional attempt sends around a file's statements: its lock guard and ledger SQL. */
function transactionParts(
  migration: Migration,
  direction: 'up' | 'down',
  statements: SqlStatement[],
  options: RunnerOptions,
): { targets: LockTarget[]; guarded: boolean; prefix: string; ledgerSql: string } {
  const lockTimeout = timeoutLiteral(options.lockTimeout, 'lock timeout');
  const statementTimeout = timeoutLiteral(options.statementTimeout, 'statement timeout');
  const targets = lockTargets(statements);
  const guard = blockerGuardSql(targets, blockerMinAgeMs(timeoutMs(options.lockTimeout)));
  const prefix = `BEGIN;\nSET LOCAL lock_timeout = ${lockTimeout};\nSET LOCAL statement_timeout = ${statementTimeout}${guard ? `;\n${guard}` : ''}`;
  const ledgerSql =
    direction === 'up'
      ? ledgerInsertSql(migration, options.appliedBy)
      : ledgerDeleteSql(migration.version);
  return { targets, guarded: guard !== undefined, prefix, ledgerSql };
}

/**
 * Applies one file (forward for 'up', rollback for 'down') and writes or deletes its
 * ledger row, atomically unless the file is marked `-- pgshift:no-transaction`. The caller
 * holds the migration lock. Throws MigrationExecutionError naming file:line and SQLSTATE.
 *
 * Lock-aware: before each attempt it waits, without queueing, while other sessions hold or
 * wait for locks that conflict with the file's statements, then attempts with the short
 * lock_timeout, retrying on lock timeouts within `lockWaitMs` (LockWaitTimeoutError after).
 * A transactional file is retried whole; a no-transaction file statement by statement. A
 * no-transaction 'up' file is marked started in the ledger before its first statement, and
 * an INVALID index left by an earlier attempt's CREATE INDEX CONCURRENTLY is dropped and
 * built again.
 */
export async function applyMigration(
  client: Client,
  migration: Migration,
  direction: 'up' | 'down',
  options: RunnerOptions,
  failedAttempt?: { error: unknown },
): Promise<MigrationResult> {
  const file = direction === 'up' ? migration.forward : migration.rollback;
  const lockTimeout = timeoutLiteral(options.lockTimeout, 'lock timeout');
  const statementTimeout = timeoutLiteral(options.statementTimeout, 'statement timeout');
  await ensureParser();
  const parsed = parseSql(file.sql);
  if (parsed.syntaxError)
    throw new MigrationExecutionError(
      `${file.file}:${parsed.syntaxError.line}: SQL syntax error: ${parsed.syntaxError.message}`,
      file.file,
      parsed.syntaxError.line,
      '42601',
    );
  const statements = executableStatements(parsed, file.transactional);
  await ensureLedger(client);

  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => notices.push(notice.message ?? '');
  client.on('notice', onNotice);
  const started = performance.now();
  const waited: LockAwareOutcome = { waitedMs: 0, attempts: 0, blockers: [], actions: [] };
  const lockAware = async <T>(
    targets: LockTarget[],
    what: string,
    attempt: () => Promise<T>,
    retry = true,
    guarded = false,
  ): Promise<T> => {
    const { value, outcome } = await withLockAwareRetry(
      client,
      {
        targets,
        what,
        retry,
        guarded,
        lockTimeoutMs: timeoutMs(options.lockTimeout),
        budgetMs: options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
        policy: {
          cancelAfterMs: options.cancelBlockersAfterMs,
          terminateIdleAfterMs: options.terminateIdleBlockersAfterMs,
        },
        onWait: options.onLockWait,
        record: (action) =>
          recordBlockerAction(
            client,
            { version: migration.version, file: file.file, ...action },
            options.appliedBy,
          ),
      },
      attempt,
    );
    waited.waitedMs += outcome.waitedMs;
    waited.attempts += outcome.attempts;
    waited.blockers.push(...outcome.blockers.filter((b) => !waited.blockers.includes(b)));
    waited.actions.push(...outcome.actions);
    return value;
  };
  const bookkeeping = async () => {
    if (direction === 'up') {
      await insertLedgerEntry(
        client,
        migration,
        options.appliedBy,
        performance.now() - started,
        'migrate',
      );
      await clearStarted(client, migration.version);
    } else await deleteLedgerEntry(client, migration.version);
  };
  try {
    if (file.transactional) {
      const { targets, guarded, prefix, ledgerSql } = transactionParts(
        migration,
        direction,
        statements,
        options,
      );
      if (guarded) await ensureBlockerGuard(client);
      // A first attempt already made in a batch (applyBatch) counts as this one's first.
      let made = failedAttempt;
      await lockAware(
        targets,
        file.file,
        () => {
          if (!made) return runTransactional(client, file, statements, prefix, ledgerSql);
          const { error } = made;
          made = undefined;
          return Promise.reject(error);
        },
        true,
        guarded,
      );
    } else {
      await client.query(
        `SET lock_timeout = ${lockTimeout}; SET statement_timeout = ${statementTimeout}`,
      );
      // Explicit BEGIN … COMMIT in a no-transaction file: one wait, one attempt.
      const explicit = statements.some((s) => s.transactionKind === 'TRANS_STMT_BEGIN');
      try {
        if (direction === 'up') await markStarted(client, migration, options.appliedBy);
        if (explicit)
          await lockAware(
            lockTargets(statements),
            file.file,
            () => runStatements(client, file, statements, false),
            false,
          );
        else
          for (const statement of statements) {
            // A lock timeout or a crash inside CREATE INDEX CONCURRENTLY leaves the index
            // INVALID; IF NOT EXISTS would skip it: drop it and build it again.
            const index = concurrentIndexName(statement);
            await lockAware(
              statementLockTargets(statement),
              `${file.file}:${statement.line}`,
              async () => {
                const invalid = index ? await invalidIndex(client, index) : undefined;
                if (invalid && !invalid.building) {
                  const drop = parseSql(`DROP INDEX CONCURRENTLY IF EXISTS ${invalid.name}`);
                  await runStatements(client, file, drop.statements, false);
                  notices.push(
                    `dropped INVALID index ${invalid.name} left by an earlier attempt; building it again`,
                  );
                }
                await runStatements(client, file, [statement], false);
              },
            );
          }
        for (const statement of statements) {
          const index = concurrentIndexName(statement);
          const invalid = index ? await invalidIndex(client, index) : undefined;
          if (invalid)
            throw new MigrationExecutionError(
              `${file.file}:${statement.line}: index ${invalid.name} is INVALID after the file ran (an earlier failed build that IF NOT EXISTS skipped, or a build still running): drop it (DROP INDEX CONCURRENTLY ${invalid.name}) and run the migration again`,
              file.file,
              statement.line,
            );
        }
        await bookkeeping();
      } catch (error) {
        if (explicit) await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
      }
    }
  } finally {
    client.off('notice', onNotice);
  }
  const lockWait =
    waited.blockers.length > 0 || waited.actions.length > 0 || waited.attempts > 1
      ? {
          waitedMs: waited.waitedMs,
          attempts: waited.attempts,
          blockers: waited.blockers,
          actions: waited.actions.map(
            (a) => `${a.action} pid ${a.pid}${a.succeeded ? '' : ' (failed)'}: ${a.blocker}`,
          ),
        }
      : undefined;
  return {
    version: migration.version,
    name: migration.name,
    direction,
    status: 'Success',
    durationMs: Math.round(performance.now() - started),
    ...(notices.length > 0 ? { notices } : {}),
    ...(lockWait ? { lockWait } : {}),
  };
}

function notExecuted(migration: Migration, direction: 'up' | 'down'): MigrationResult {
  return {
    version: migration.version,
    name: migration.name,
    direction,
    status: 'NotExecuted',
    durationMs: 0,
  };
}

/** At most this many migrations (and about this much SQL) go in one round trip. */
const BATCH_MIGRATIONS = 50;
/**
 * Runs of fewer migrations are sent one migration per round trip: in a batch,
 * pg_stat_activity shows the first 1 kB of the whole batch (track_activity_query_size), not
 * the migration running, and a run of a few migrations gains nothing worth that. Batches are
 * for bulk applies: a new database, CI, a scratch rehearsal catching up hundreds of files.
 */
const BATCH_MIN_RUN = 10;
const BATCH_CHARS = 1_000_000;

const PROGRESS_NOTICE = 'pgshift: next migration of the batch';
const PROGRESS_FLUSH = `DO $pgshift_progress$ BEGIN RAISE NOTICE '${PROGRESS_NOTICE}'; END $pgshift_progress$`;

interface BatchItem {
  migration: Migration;
  file: SqlFile;
  statements: SqlStatement[];
  prefix: string;
  ledgerSql: string;
}

/**
 * The transactional migrations from `from` on that can share one round trip: consecutive
 * files that run in a transaction and parse (a file with a syntax error runs alone, so that
 * it fails as it always did, after the files before it were applied).
 */
function collectBatch(
  migrations: Migration[],
  from: number,
  direction: 'up' | 'down',
  options: RunnerOptions,
): BatchItem[] {
  const batch: BatchItem[] = [];
  let chars = 0;
  for (let i = from; i < migrations.length && batch.length < BATCH_MIGRATIONS; i++) {
    const migration = migrations[i];
    const file = direction === 'up' ? migration.forward : migration.rollback;
    if (!file.transactional || (batch.length > 0 && chars + file.sql.length > BATCH_CHARS)) break;
    const parsed = parseSql(file.sql);
    if (parsed.syntaxError) break;
    const statements = executableStatements(parsed, true);
    const { prefix, ledgerSql } = transactionParts(migration, direction, statements, options);
    batch.push({ migration, file, statements, prefix, ledgerSql });
    chars += file.sql.length;
  }
  return batch;
}

/**
 * Applies a batch of transactional migrations in ONE round trip: each still in its own
 * transaction with its lock guard, timeouts and ledger row (`BEGIN; …; COMMIT; SELECT k`),
 * sent as one simple-query message. PostgreSQL runs them in order and stops at the first
 * error: the migrations before it are committed (each one's `SELECT k` says so as it
 * arrives, which also reports progress and sorts notices by migration), the failing one is
 * rolled back, and the ones after it never ran. Returns how many were committed and, when
 * one failed, the error its attempt raised (mapped to file:line as a single attempt's is),
 * for applyMigration to treat as its first attempt (lock-aware retry, blockers named).
 */
async function applyBatch(
  client: Client,
  batch: BatchItem[],
  direction: 'up' | 'down',
  onStart: (k: number) => void,
  onApplied: (k: number, result: MigrationResult) => void,
): Promise<{ committed: number; failure?: { error: unknown } }> {
  await ensureLedger(client);
  // Each marker carries the server's clock: results arrive in bursts, durations do not.
  const marker = (k: number) =>
    `SELECT ${k} AS pgshift_committed, extract(epoch FROM clock_timestamp()) * 1000 AS at`;
  let text = marker(-1);
  const spans: StatementPart[][] = [];
  batch.forEach((item, k) => {
    // PostgreSQL sends results when the message ends, but a notice at once with everything
    // before it: the commit marker of the previous migration reaches the client (progress,
    // heartbeat details) when the next one starts, even if that one runs for an hour.
    if (k > 0) text += `${SEPARATOR}${PROGRESS_FLUSH}`;
    text += SEPARATOR;
    const { text: part, parts } = transactionText(
      item.statements,
      item.prefix,
      item.ledgerSql,
      text.length,
    );
    text += `${part}${SEPARATOR}${marker(k)}`;
    spans.push(parts);
  });
  let committed = 0;
  let notices: string[] = [];
  let started = 0;
  const onNotice = (notice: { message?: string }) => {
    if (notice.message !== PROGRESS_NOTICE) notices.push(notice.message ?? '');
  };
  client.on('notice', onNotice);
  onStart(0);
  try {
    await new Promise<void>((resolve, reject) => {
      const query = client.query(new Query(text));
      query.on('row', (row: { pgshift_committed?: number; at?: number }) => {
        // Rows of the files' own SELECTs pass by too: only the markers count.
        if (row.pgshift_committed === undefined) return;
        const k = Number(row.pgshift_committed);
        const at = Number(row.at);
        if (k >= 0) {
          const { migration } = batch[k];
          onApplied(k, {
            version: migration.version,
            name: migration.name,
            direction,
            status: 'Success',
            durationMs: Math.max(0, Math.round(at - started)),
            ...(notices.length > 0 ? { notices } : {}),
          });
          committed = k + 1;
          notices = [];
          if (committed < batch.length) onStart(committed);
        }
        started = at;
      });
      query.on('end', () => resolve());
      query.on('error', reject);
    });
    return { committed };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const item = batch[committed];
    return {
      committed,
      failure: {
        error: await explainTransactionalFailure(
          client,
          item.file,
          item.statements,
          item.prefix,
          spans[committed],
          error,
        ),
      },
    };
  } finally {
    client.off('notice', onNotice);
  }
}

/**
 * Applies `migrations` in order, each in its own transaction; stops at the first failure.
 * Consecutive transactional migrations go in batches of one round trip (applyBatch); a
 * no-transaction file, a file that does not parse, and the migration a batch stopped at
 * run alone through applyMigration.
 */
async function runInOrder(
  client: Client,
  migrations: Migration[],
  direction: 'up' | 'down',
  options: RunnerOptions,
  ledger: LedgerEntry[],
): Promise<RunResult> {
  if (migrations.some((m) => (direction === 'up' ? m.forward : m.rollback).transactional))
    await ensureBlockerGuard(client);
  const fromVersion = highestVersion(ledger);
  const results = migrations.map((m) => notExecuted(m, direction));
  const applied = new Set(ledger.map((e) => e.version));
  const result: RunResult = {
    direction,
    dryRun: false,
    fromVersion,
    toVersion: fromVersion,
    results,
  };
  const event = (index: number) => ({
    version: migrations[index].version,
    name: migrations[index].name,
    direction,
    index,
    total: migrations.length,
  });
  // The version reached is computed when the run ends (not after each of thousands of files).
  const reached = () => {
    result.toVersion = Math.max(0, ...applied);
    return result;
  };
  const done = (index: number) => {
    if (direction === 'up') applied.add(migrations[index].version);
    else applied.delete(migrations[index].version);
  };
  const fail = (index: number, error: unknown) => {
    reached();
    results[index] = {
      ...notExecuted(migrations[index], direction),
      status: 'Error',
      error: error instanceof Error ? error.message.split('\n')[0] : String(error),
    };
    if (error instanceof MigrationExecutionError) error.runResult = result;
    return error;
  };
  for (let index = 0; index < migrations.length; index++) {
    let failedAttempt: { error: unknown } | undefined;
    let batch: BatchItem[] = [];
    try {
      if (migrations.length >= BATCH_MIN_RUN)
        batch = collectBatch(migrations, index, direction, options);
    } catch (error) {
      options.onProgress?.({ phase: 'start', ...event(index) });
      options.onProgress?.({ phase: 'done', ...event(index) });
      throw fail(index, error);
    }
    if (batch.length > 1) {
      const base = index;
      const outcome = await applyBatch(
        client,
        batch,
        direction,
        (k) => options.onProgress?.({ phase: 'start', ...event(base + k) }),
        (k, applied) => {
          results[base + k] = applied;
          done(base + k);
          options.onProgress?.({ phase: 'done', ...event(base + k) });
        },
      );
      index += outcome.committed;
      if (!outcome.failure) {
        index--;
        continue;
      }
      failedAttempt = outcome.failure;
    } else options.onProgress?.({ phase: 'start', ...event(index) });
    try {
      results[index] = await applyMigration(
        client,
        migrations[index],
        direction,
        options,
        failedAttempt,
      );
    } catch (error) {
      throw fail(index, error);
    } finally {
      options.onProgress?.({ phase: 'done', ...event(index) });
    }
    done(index);
  }
  return reached();
}

function dryRunResult(
  migrations: Migration[],
  direction: 'up' | 'down',
  ledger: LedgerEntry[],
): RunResult {
  const applied = new Set(ledger.map((e) => e.version));
  for (const m of migrations) {
    if (direction === 'up') applied.add(m.version);
    else applied.delete(m.version);
  }
  return {
    direction,
    dryRun: true,
    fromVersion: highestVersion(ledger),
    toVersion: Math.max(0, ...applied),
    results: migrations.map((m) => notExecuted(m, direction)),
  };
}

/**
 * Applies every pending migration (up to `to` when given). Refuses with DriftError when
 * applied files changed. A failing migration throws MigrationExecutionError whose
 * `runResult` lists Success / Error / NotExecuted per migration; earlier ones stay applied.
 */
export async function migrateUp(
  client: Client,
  plan: MigrationPlan,
  options: RunnerOptions & { to?: number; dryRun?: boolean },
): Promise<RunResult> {
  if (options.to !== undefined && (!Number.isInteger(options.to) || options.to < 0))
    throw new UsageError(`--to ${options.to} is not a migration number`);
  await ensureParser();
  const select = (ledger: LedgerEntry[]) => {
    assertNoDrift(compareLedger(plan, ledger));
    return pendingMigrations(plan.migrations, ledger, options.to);
  };
  if (options.dryRun) {
    const ledger = await readLedger(client);
    return dryRunResult(select(ledger), 'up', ledger);
  }
  return withAdvisoryLock(client, options.advisoryLockWaitMs, async () => {
    await ensureLedger(client);
    const ledger = await readLedger(client);
    return runInOrder(client, select(ledger), 'up', options, ledger);
  });
}

/**
 * Rolls back applied migrations above `target`, newest first, each with its rollback file
 * in its own transaction. `target` stays applied; 0 rolls back everything. Refuses with
 * DriftError when a migration to roll back has no files.
 */
export async function migrateDown(
  client: Client,
  plan: MigrationPlan,
  target: number,
  options: RunnerOptions & { dryRun?: boolean },
): Promise<RunResult> {
  if (!Number.isInteger(target) || target < 0)
    throw new UsageError(
      `target ${target} is not a migration number: give the version to keep (0 rolls back everything)`,
    );
  await ensureParser();
  // A no-transaction migration that was started and never finished is reverted too (its
  // rollback file runs; it must tolerate a partly applied forward file, like any retry).
  const select = (ledger: LedgerEntry[], started: number[]) => {
    const report = compareLedger(plan, ledger);
    assertNoDrift({
      ...report,
      drifted: [],
      missingFiles: report.missingFiles.filter((v) => v > target),
    });
    const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
    const versions = new Set(ledger.map((e) => e.version));
    for (const v of started) if (byVersion.has(v)) versions.add(v);
    return [...versions]
      .filter((v) => v > target)
      .sort((a, b) => b - a)
      .map((v) => byVersion.get(v)!);
  };
  if (options.dryRun) {
    const ledger = await readLedger(client);
    return dryRunResult(select(ledger, await readStarted(client)), 'down', ledger);
  }
  return withAdvisoryLock(client, options.advisoryLockWaitMs, async () => {
    const ledger = await readLedger(client);
    return runInOrder(client, select(ledger, await readStarted(client)), 'down', options, ledger);
  });
}
