import type { Client } from 'pg';
import { performance } from 'node:perf_hooks';
import { RollbackIntegrityError, UsageError } from './errors';
import { ensureLedger } from './ledger';
import { applyMigration } from './runner';
import { createScratchDatabase, withScratchDatabase } from './scratch-database';
import { snapshotSchema, type CatalogSnapshot } from './snapshot';
import { beginRollbackCheck, compareAfterRollback, type RollbackCheck } from './rollback-check';
import {
  DEFAULT_RUNNER_OPTIONS,
  type Migration,
  type MigrationPlan,
  type RunnerOptions,
} from './types';

/**
 * Rollback-integrity tests. They always run in scratch databases `pgshift_rbtest_<random>`
 * created on the server of the given URL (TEST_DATABASE_URL), dropped at the end even on
 * failure; the database named in that URL only issues CREATE/DROP DATABASE. The scratch
 * database is private to one test run, so no migration lock is taken in it.
 *
 * A rollback passes when the catalog snapshot after "apply N, roll back N" equals the
 * snapshot before "apply N", and N applies again afterwards.
 */

export type RollbackTestStatus = 'passed' | 'failed' | 'skipped';

export interface RollbackTestResult {
  version: number;
  name: string;
  status: RollbackTestStatus;
  /** Each difference prefixed with the version: `002: index idx_x still exists`. */
  differences: string[];
  /** What went wrong when a file failed to run (file:line, SQLSTATE) or why it was skipped. */
  error?: string;
  /** How the test adapted a file (dry run: CONCURRENTLY removed inside the transaction). */
  notes?: string[];
  durationMs: number;
}

export interface RollbackTestReport {
  mode: 'migration' | 'all' | 'dry-run';
  migrations: RollbackTestResult[];
  passed: boolean;
  durationMs: number;
  /** Dry run only: the schema after the final ROLLBACK equals the schema before the rollbacks. */
  unchanged?: boolean;
}

/** Reported before ('start') and after ('done') each migration's test, for heartbeats. */
export interface RollbackTestProgress {
  phase: 'start' | 'done';
  index: number; // 0-based
  total: number;
  version: number;
  name: string;
  status?: RollbackTestStatus; // with 'done'
}

export interface RollbackTestOptions {
  onProgress?: (progress: RollbackTestProgress) => void;
  /** lock_timeout, statement_timeout… for running the files (defaults: the runner's). */
  runner?: Partial<RunnerOptions>;
}

/** `007` for version 7 in `007_add_region.sql`: the prefix of every difference. */
export function versionLabel(migration: Migration): string {
  return /^(\d+)_/.exec(migration.forward.file)?.[1] ?? String(migration.version).padStart(3, '0');
}

/** The runner options of a rollback test: the defaults, as `pgshift test rollback`, then the caller's. */
export function runnerOptions(options: RollbackTestOptions): RunnerOptions {
  return { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'pgshift test rollback', ...options.runner };
}

/** An error's message without the runner's closing remark about its own transaction. */
export function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .split('\n')
    .filter((line) => !/^\s+\S+ (was rolled back:|runs without a transaction:)/.test(line))
    .join('\n');
}

/**
 * Runs one file of `migration`; a failure becomes a StepError whose message says which
 * step (`what`, when it is not simply running the file) and where (file:line, SQLSTATE).
 */
async function step(
  client: Client,
  migration: Migration,
  direction: 'up' | 'down',
  options: RunnerOptions,
  what?: string,
): Promise<void> {
  try {
    await applyMigration(client, migration, direction, options);
  } catch (error) {
    throw new StepError(what ? `${what}: ${messageOf(error)}` : messageOf(error));
  }
}

class StepError extends Error {}

function prefixed(migration: Migration, messages: string[]): string[] {
  const label = versionLabel(migration);
  return messages.map((message) => `${label}: ${message}`);
}

function result(
  migration: Migration,
  started: number,
  found: string[],
  error?: string,
): RollbackTestResult {
  return {
    version: migration.version,
    name: migration.name,
    status: found.length === 0 && error === undefined ? 'passed' : 'failed',
    differences: found,
    ...(error !== undefined ? { error } : {}),
    durationMs: Math.round(performance.now() - started),
  };
}

function skipped(migration: Migration, reason: string): RollbackTestResult {
  return {
    version: migration.version,
    name: migration.name,
    status: 'skipped',
    differences: [],
    error: reason,
    durationMs: 0,
  };
}

function report(
  mode: RollbackTestReport['mode'],
  migrations: RollbackTestResult[],
  started: number,
): RollbackTestReport {
  return {
    mode,
    migrations,
    passed: migrations.every((m) => m.status === 'passed'),
    durationMs: Math.round(performance.now() - started),
  };
}

/**
 * The whole-schema snapshot of a fresh scratch database after `steps`: the fallback's
 * "before" when the catalog guard saw a change outside a migration's scope. The walk's own
 * database cannot give it any more (it is past that state), so the same files are applied
 * again, in the same order and directions, in a database of their own.
 */
async function replayedSnapshot(
  serverUrl: string,
  steps: { migration: Migration; direction: 'up' | 'down' }[],
  runner: RunnerOptions,
): Promise<CatalogSnapshot> {
  return withScratchDatabase(serverUrl, async (scratch) => {
    await ensureLedger(scratch.client);
    for (const { migration, direction } of steps)
      await step(scratch.client, migration, direction, runner, 'replaying for a full comparison');
    return snapshotSchema(scratch.client);
  });
}

/** Caches a lazily computed value (the fallback's snapshot is computed at most once). */
function once<T>(compute: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= compute());
}

/**
 * Tests the rollback of migration `migration`: apply 1..N-1, take the "before" side of the
 * proof (rollback-check.ts: a snapshot of what N can change and a guard over the rest),
 * apply N, roll back N, compare; then apply N again (it must rerun), roll it back once more
 * and compare again.
 */
export async function testRollback(
  serverUrl: string,
  plan: MigrationPlan,
  options: RollbackTestOptions & { migration: number },
): Promise<RollbackTestReport> {
  const started = performance.now();
  const index = plan.migrations.findIndex((m) => m.version === options.migration);
  if (index < 0) {
    const versions = plan.migrations.map((m) => m.version);
    throw new UsageError(
      `migration ${options.migration} is not in the migrations folder (it has ${versions.length === 0 ? 'none' : `versions ${versions[0]}..${versions[versions.length - 1]}`}): pass --migration=N for one of them`,
    );
  }
  const migration = plan.migrations[index];
  const runner = runnerOptions(options);
  const progress = { index: 0, total: 1, version: migration.version, name: migration.name };
  options.onProgress?.({ phase: 'start', ...progress });
  const fullBefore = once(() =>
    replayedSnapshot(
      serverUrl,
      plan.migrations.slice(0, index).map((m) => ({ migration: m, direction: 'up' as const })),
      runner,
    ),
  );
  const tested = await withScratchDatabase(serverUrl, async (scratch) => {
    const client = scratch.client;
    await ensureLedger(client);
    const stepStarted = performance.now();
    const notes: string[] = [];
    const compare = async (check: RollbackCheck) => {
      const comparison = await compareAfterRollback(client, check, fullBefore);
      if (comparison.fallback && !notes.includes(comparison.fallback))
        notes.push(comparison.fallback);
      return prefixed(
        migration,
        comparison.differences.map((d) => d.message),
      );
    };
    try {
      for (const earlier of plan.migrations.slice(0, index))
        await step(client, earlier, 'up', runner, 'preparing the database');
      const check = await beginRollbackCheck(client, migration);
      await step(client, migration, 'up', runner);
      await step(client, migration, 'down', runner);
      const found = await compare(check);
      try {
        await step(client, migration, 'up', runner, 'applying it again after its rollback');
      } catch (error) {
        if (error instanceof StepError)
          return withNotes(result(migration, stepStarted, found, error.message), notes);
        throw error;
      }
      if (found.length > 0) return withNotes(result(migration, stepStarted, found), notes);
      await step(client, migration, 'down', runner, 'rolling it back a second time');
      const again = (await compare(check)).map((d) =>
        d.replace(': ', ': after a second rollback: '),
      );
      return withNotes(result(migration, stepStarted, again), notes);
    } catch (error) {
      if (error instanceof StepError)
        return withNotes(result(migration, stepStarted, [], error.message), notes);
      throw error;
    }
  });
  options.onProgress?.({ phase: 'done', ...progress, status: tested.status });
  return report('migration', [tested], started);
}

function withNotes(tested: RollbackTestResult, notes: string[]): RollbackTestResult {
  return notes.length > 0 ? { ...tested, notes: [...(tested.notes ?? []), ...notes] } : tested;
}

/**
 * Tests every rollback in ONE scratch database, walking forward: for each migration, take
 * the "before" side of the proof (rollback-check.ts), apply it, roll it back, compare,
 * apply it again. Each comparison snapshots only what the migration can change, plus a
 * guard over the rest of the catalog, so each migration costs what it touches and the run
 * grows linearly with the number of migrations. When the guard sees a change outside the
 * scope, that migration is compared on whole schemas (its "before" rebuilt by replaying the
 * walk so far in another scratch database) and its result says so. When a file fails to
 * run, the database is rebuilt once (1..N applied) so that the remaining rollbacks are
 * still tested.
 */
export async function testAllRollbacks(
  serverUrl: string,
  plan: MigrationPlan,
  options: RollbackTestOptions = {},
): Promise<RollbackTestReport> {
  const started = performance.now();
  const runner = runnerOptions(options);
  const migrations = plan.migrations;
  const results: RollbackTestResult[] = [];
  // What the walk's database went through since it was (re)built: replayed for a fallback.
  let walked: { migration: Migration; direction: 'up' | 'down' }[] = [];
  let scratch = await createScratchDatabase(serverUrl);
  try {
    await ensureLedger(scratch.client);
    for (let index = 0; index < migrations.length; index++) {
      const migration = migrations[index];
      const progress = {
        index,
        total: migrations.length,
        version: migration.version,
        name: migration.name,
      };
      options.onProgress?.({ phase: 'start', ...progress });
      const stepStarted = performance.now();
      const client = scratch.client;
      let tested: RollbackTestResult;
      let failedHalfway = false;
      let found: string[] = [];
      const notes: string[] = [];
      const check = await beginRollbackCheck(client, migration);
      try {
        await step(client, migration, 'up', runner);
      } catch (error) {
        results.push(result(migration, stepStarted, [], messageOf(error)));
        options.onProgress?.({ phase: 'done', ...progress, status: 'failed' });
        for (const later of migrations.slice(index + 1))
          results.push(
            skipped(
              later,
              `not tested: ${migration.forward.file} does not apply, so later migrations cannot be applied`,
            ),
          );
        break;
      }
      const stepsBefore = walked.length;
      try {
        await step(client, migration, 'down', runner);
        const comparison = await compareAfterRollback(
          client,
          check,
          once(() => replayedSnapshot(serverUrl, walked.slice(0, stepsBefore), runner)),
        );
        if (comparison.fallback) notes.push(comparison.fallback);
        found = prefixed(
          migration,
          comparison.differences.map((d) => d.message),
        );
        await step(client, migration, 'up', runner, 'applying it again after its rollback');
        tested = withNotes(result(migration, stepStarted, found), notes);
        // A rollback that restored everything leaves the database as one "up" would.
        walked.push(
          ...(found.length === 0
            ? [{ migration, direction: 'up' as const }]
            : (['up', 'down', 'up'] as const).map((direction) => ({ migration, direction }))),
        );
      } catch (error) {
        if (!(error instanceof StepError)) throw error;
        tested = withNotes(result(migration, stepStarted, found, error.message), notes);
        failedHalfway = true;
      }
      if (failedHalfway) {
        // A file failed half-way: start again from a clean database with 1..N applied.
        await scratch.drop();
        scratch = await createScratchDatabase(serverUrl);
        try {
          await ensureLedger(scratch.client);
          for (const applied of migrations.slice(0, index + 1))
            await step(scratch.client, applied, 'up', runner, 'rebuilding the scratch database');
          walked = migrations
            .slice(0, index + 1)
            .map((applied) => ({ migration: applied, direction: 'up' as const }));
        } catch (error) {
          if (!(error instanceof StepError)) throw error;
          results.push(tested);
          options.onProgress?.({ phase: 'done', ...progress, status: tested.status });
          for (const later of migrations.slice(index + 1))
            results.push(skipped(later, `not tested: ${error.message}`));
          break;
        }
      }
      results.push(tested);
      options.onProgress?.({ phase: 'done', ...progress, status: tested.status });
    }
  } finally {
    await scratch.drop();
  }
  return report('all', results, started);
}

/** `004: default of …` → `004_rollback.sql did not restore: default of …` (the file at fault). */
export function namingTheRollbackFile(difference: string): string {
  return difference.replace(/^(\d+): /, '$1_rollback.sql did not restore: ');
}

/**
 * Throws RollbackIntegrityError (non-retryable, exit 1) listing every difference and error
 * when the report did not pass; for callers that branch on errors (Temporal activities).
 */
export function assertRollbacksPassed(report: RollbackTestReport): void {
  if (report.passed) return;
  const failed = report.migrations.filter((m) => m.status !== 'passed');
  const details = failed.flatMap((m) => [
    ...m.differences.map(namingTheRollbackFile),
    ...(m.error ? [`${String(m.version).padStart(3, '0')}: ${m.error.split('\n')[0]}`] : []),
  ]);
  throw new RollbackIntegrityError(
    `rollback test (${report.mode}) failed for ${failed.map((m) => String(m.version).padStart(3, '0')).join(', ')}:\n${details.map((d) => `  ${d}`).join('\n')}`,
    details,
  );
}
