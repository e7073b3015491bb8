import { escapeLiteral, type Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { assertNoDrift } from './drift';
import { MigrationExecutionError, UsageError } from './errors';
import {
  deleteLedgerEntry,
  ensureLedger,
  insertLedgerEntry,
  ledgerDeleteSql,
  ledgerInsertSql,
  readLedger,
} from './ledger';
import { withAdvisoryLock } from './lock';
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
  const parts: { statement: SqlStatement; offset: number }[] = [];
  let text = prefix;
  for (const statement of statements) {
    text += SEPARATOR;
    parts.push({ statement, offset: text.length });
    text += statement.text;
  }
  text += `${SEPARATOR}${ledgerSql}${SEPARATOR}COMMIT`;
  try {
    await client.query(text);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (!isServerError(error)) throw error;
    const position = Number(error.position);
    if (Number.isFinite(position) && position > 0) {
      const part = parts.find(
        (p) => position - 1 >= p.offset && position - 1 < p.offset + p.statement.text.length,
      );
      if (part)
        throw toExecutionError(
          file,
          part.statement,
          { ...error, message: error.message, position: String(position - part.offset) },
          true,
        );
    }
    const located =
      error.code === '57014' ? undefined : await locateFailure(client, statements, prefix);
    if (located && located.error.code === error.code)
      throw toExecutionError(file, located.statement, located.error, true);
    throw toExecutionError(file, undefined, error, true);
  }
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

/**
 * Applies one file (forward for 'up', rollback for 'down') and writes or deletes its
 * ledger row, atomically unless the file is marked `-- pgshift:no-transaction`. The caller
 * holds the migration lock. Throws MigrationExecutionError naming file:line and SQLSTATE.
 */
export async function applyMigration(
  client: Client,
  migration: Migration,
  direction: 'up' | 'down',
  options: RunnerOptions,
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
  const bookkeeping = async () => {
    if (direction === 'up')
      await insertLedgerEntry(
        client,
        migration,
        options.appliedBy,
        performance.now() - started,
        'migrate',
      );
    else await deleteLedgerEntry(client, migration.version);
  };
  try {
    if (file.transactional) {
      const prefix = `BEGIN;\nSET LOCAL lock_timeout = ${lockTimeout};\nSET LOCAL statement_timeout = ${statementTimeout}`;
      const ledgerSql =
        direction === 'up'
          ? ledgerInsertSql(migration, options.appliedBy)
          : ledgerDeleteSql(migration.version);
      await runTransactional(client, file, statements, prefix, ledgerSql);
    } else {
      await client.query(
        `SET lock_timeout = ${lockTimeout}; SET statement_timeout = ${statementTimeout}`,
      );
      try {
        await runStatements(client, file, statements, false);
        await bookkeeping();
      } catch (error) {
        if (statements.some((s) => s.transactionKind === 'TRANS_STMT_BEGIN'))
          await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        await client.query('RESET lock_timeout; RESET statement_timeout').catch(() => undefined);
      }
    }
  } finally {
    client.off('notice', onNotice);
  }
  return {
    version: migration.version,
    name: migration.name,
    direction,
    status: 'Success',
    durationMs: Math.round(performance.now() - started),
    ...(notices.length > 0 ? { notices } : {}),
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

/** Applies `migrations` in order, each in its own transaction; stops at the first failure. */
async function runInOrder(
  client: Client,
  migrations: Migration[],
  direction: 'up' | 'down',
  options: RunnerOptions,
  ledger: LedgerEntry[],
): Promise<RunResult> {
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
  for (let index = 0; index < migrations.length; index++) {
    const migration = migrations[index];
    const event = {
      version: migration.version,
      name: migration.name,
      direction,
      index,
      total: migrations.length,
    };
    options.onProgress?.({ phase: 'start', ...event });
    try {
      results[index] = await applyMigration(client, migration, direction, options);
    } catch (error) {
      results[index] = {
        ...notExecuted(migration, direction),
        status: 'Error',
        error: error instanceof Error ? error.message.split('\n')[0] : String(error),
      };
      if (error instanceof MigrationExecutionError) error.runResult = result;
      throw error;
    } finally {
      options.onProgress?.({ phase: 'done', ...event });
    }
    if (direction === 'up') applied.add(migration.version);
    else applied.delete(migration.version);
    result.toVersion = Math.max(0, ...applied);
  }
  return result;
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
  const select = (ledger: LedgerEntry[]) => {
    const report = compareLedger(plan, ledger);
    assertNoDrift({
      ...report,
      drifted: [],
      missingFiles: report.missingFiles.filter((v) => v > target),
    });
    const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
    return ledger
      .filter((e) => e.version > target)
      .sort((a, b) => b.version - a.version)
      .map((e) => byVersion.get(e.version)!);
  };
  if (options.dryRun) {
    const ledger = await readLedger(client);
    return dryRunResult(select(ledger), 'down', ledger);
  }
  return withAdvisoryLock(client, options.advisoryLockWaitMs, async () => {
    const ledger = await readLedger(client);
    return runInOrder(client, select(ledger), 'down', options, ledger);
  });
}
