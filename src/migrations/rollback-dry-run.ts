import type { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { ensureLedger } from './ledger';
import { applyMigration } from './runner';
import { withScratchDatabase } from './scratch-database';
import { snapshotSchema, type CatalogSnapshot } from './snapshot';
import { diffSnapshots } from './snapshot-diff';
import { isServerError, toExecutionError } from './sql-error';
import { ensureParser, executableStatements, parseSql, type SqlStatement } from './sql-statements';
import {
  runnerOptions,
  versionLabel,
  type RollbackTestOptions,
  type RollbackTestReport,
  type RollbackTestResult,
} from './rollback-test';
import type { Migration, MigrationPlan } from './types';

/**
 * `test rollback --dry-run`: every rollback is executed inside ONE transaction that is
 * rolled back at the end, so nothing any rollback does is ever committed.
 *
 * In a scratch database, the migrations are applied one by one (a snapshot after each).
 * Then, inside a single transaction, the rollbacks run from the newest down to the first,
 * each in a savepoint, and the schema after rollback N is compared with the snapshot taken
 * when only 1..N-1 were applied. Finally the transaction is rolled back (and the scratch
 * database dropped).
 *
 * What it proves: each rollback file parses, runs without error against exactly the schema
 * its migration (with all later ones rolled back) produced, and restores the previous
 * schema. What it does not prove: that the migration re-applies after its rollback (use
 * `--migration=N` or `--all`). Rollbacks marked `-- pgshift:no-transaction` run with
 * CONCURRENTLY removed (same schema effect; noted in the result); one whose statements
 * cannot run in a transaction at all is skipped, and so are the rollbacks below a skipped
 * or failed one (they would run against a schema they do not expect).
 */
export async function testRollbacksDryRun(
  serverUrl: string,
  plan: MigrationPlan,
  options: RollbackTestOptions = {},
): Promise<RollbackTestReport> {
  await ensureParser();
  const started = performance.now();
  const runner = runnerOptions(options);
  const migrations = plan.migrations;
  const results = new Map<number, RollbackTestResult>();
  let unchanged = false;
  await withScratchDatabase(serverUrl, async ({ client }) => {
    await ensureLedger(client);
    // snapshots[i]: schema with migrations[0..i-1] applied.
    const snapshots: CatalogSnapshot[] = [await snapshotSchema(client)];
    let top = 0;
    for (const migration of migrations) {
      try {
        await applyMigration(client, migration, 'up', runner);
      } catch (error) {
        results.set(migration.version, {
          ...blank(migration),
          status: 'failed',
          error: `${migration.forward.file} does not apply, so its rollback cannot be tried: ${messageOf(error)}`,
        });
        break;
      }
      snapshots.push(await snapshotSchema(client, { reuse: snapshots[snapshots.length - 1] }));
      top++;
    }
    await client.query('BEGIN');
    try {
      await client.query(
        `SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`,
        [runner.lockTimeout, runner.statementTimeout],
      );
      const reported = new Set<string>();
      let blocked: string | undefined;
      for (let index = top - 1; index >= 0; index--) {
        const migration = migrations[index];
        const progress = {
          index: top - 1 - index,
          total: top,
          version: migration.version,
          name: migration.name,
        };
        options.onProgress?.({ phase: 'start', ...progress });
        const tested = blocked
          ? { ...blank(migration), status: 'skipped' as const, error: blocked }
          : await tryRollback(client, migration, snapshots[index], reported);
        if (!blocked && tested.error)
          blocked = `not tried: the rollback of ${versionLabel(migration)} above it ${tested.status === 'skipped' ? 'could not be tried' : 'failed'}, so this one would not run against the schema it expects`;
        results.set(migration.version, tested);
        options.onProgress?.({ phase: 'done', ...progress, status: tested.status });
      }
    } finally {
      await client.query('ROLLBACK');
    }
    const afterwards = diffSnapshots(
      snapshots[top],
      await snapshotSchema(client, { reuse: snapshots[top] }),
    );
    unchanged = afterwards.length === 0;
  });
  const ordered = migrations.map(
    (m) =>
      results.get(m.version) ?? {
        ...blank(m),
        status: 'skipped' as const,
        error: 'not tried: an earlier migration does not apply',
      },
  );
  return {
    mode: 'dry-run',
    migrations: ordered,
    passed: unchanged && ordered.every((m) => m.status === 'passed'),
    unchanged,
    durationMs: Math.round(performance.now() - started),
  };
}

function blank(migration: Migration): RollbackTestResult {
  return {
    version: migration.version,
    name: migration.name,
    status: 'passed',
    differences: [],
    durationMs: 0,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one rollback file's statements in a savepoint of the open transaction and compares
 * the schema with `expected`. Differences already reported for a later migration (residue
 * that stays in the transaction) are not repeated.
 */
async function tryRollback(
  client: Client,
  migration: Migration,
  expected: CatalogSnapshot,
  reported: Set<string>,
): Promise<RollbackTestResult> {
  const started = performance.now();
  const done = (fields: Partial<RollbackTestResult>): RollbackTestResult => ({
    ...blank(migration),
    ...fields,
    durationMs: Math.round(performance.now() - started),
  });
  const file = migration.rollback;
  const parsed = parseSql(file.sql);
  if (parsed.syntaxError)
    return done({
      status: 'failed',
      error: `${file.file}:${parsed.syntaxError.line}: SQL syntax error: ${parsed.syntaxError.message}`,
    });
  const statements: SqlStatement[] = [];
  const notes: string[] = [];
  for (const statement of executableStatements(parsed, true)) {
    const adapted = inTransactionForm(statement);
    if (adapted === 'impossible')
      return done({
        status: 'skipped',
        error: `${file.file}:${statement.line}: "${statement.text.split(/\s+/).slice(0, 3).join(' ')}" cannot run inside a transaction that is rolled back; test this rollback with --migration=${migration.version}`,
      });
    if (adapted === statement) statements.push(statement);
    else if (adapted) {
      statements.push(adapted);
      notes.push(
        `${file.file}:${statement.line}: ran without CONCURRENTLY inside the dry-run transaction`,
      );
    } else
      notes.push(
        `${file.file}:${statement.line}: ${statement.nodeType} skipped (no effect on the schema)`,
      );
  }
  await client.query('SAVEPOINT pgshift_rollback');
  for (const statement of statements) {
    try {
      await client.query(statement.text);
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT pgshift_rollback');
      const message = isServerError(error)
        ? toExecutionError(file, statement, error, true).message.split('\n').slice(0, -1).join('\n')
        : messageOf(error);
      return done({ status: 'failed', error: message, ...(notes.length ? { notes } : {}) });
    }
  }
  await client.query('RELEASE SAVEPOINT pgshift_rollback');
  const label = versionLabel(migration);
  const differences: string[] = [];
  for (const difference of diffSnapshots(
    expected,
    await snapshotSchema(client, { reuse: expected }),
  )) {
    if (reported.has(difference.message)) continue;
    reported.add(difference.message);
    differences.push(`${label}: ${difference.message}`);
  }
  return done({
    status: differences.length === 0 ? 'passed' : 'failed',
    differences,
    ...(notes.length ? { notes } : {}),
  });
}

/**
 * A no-transaction file's statement in a form that runs inside the dry-run transaction
 * with the same effect on the schema: CREATE/DROP INDEX and REINDEX lose CONCURRENTLY,
 * VACUUM/ANALYZE are left out (undefined); CREATE DATABASE, ALTER SYSTEM… are 'impossible'.
 */
function inTransactionForm(statement: SqlStatement): SqlStatement | undefined | 'impossible' {
  const node = statement.node as { concurrent?: boolean; params?: unknown[] };
  const concurrently =
    ((statement.nodeType === 'IndexStmt' || statement.nodeType === 'DropStmt') &&
      node.concurrent) ||
    (statement.nodeType === 'ReindexStmt' &&
      JSON.stringify(node.params ?? []).includes('"concurrently"'));
  if (concurrently) return { ...statement, text: statement.text.replace(/\bconcurrently\b/i, '') };
  if (statement.nodeType === 'VacuumStmt') return undefined;
  if (
    ['CreatedbStmt', 'DropdbStmt', 'AlterSystemStmt', 'CreateTableSpaceStmt'].includes(
      statement.nodeType,
    )
  )
    return 'impossible';
  return statement;
}
