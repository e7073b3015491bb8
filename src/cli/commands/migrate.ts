import type { Command } from 'commander';
import type { Client } from 'pg';
import { baseline } from '../../migrations/baseline';
import { connect, redactUrl, toConnectionError } from '../../migrations/database';
import { describeDrift, validateApplied } from '../../migrations/drift';
import { MigrationExecutionError } from '../../migrations/errors';
import { UsageError } from '../../errors';
import { loadPlan, type SqlCheck } from '../../migrations/files';
import { repair, type RepairResult } from '../../migrations/repair';
import { migrateDown, migrateUp } from '../../migrations/runner';
import { readStatus } from '../../migrations/status';
import {
  DEFAULT_RUNNER_OPTIONS,
  type LedgerEntry,
  type MigrationPlan,
  type RunResult,
  type RunnerOptions,
  type StatusReport,
} from '../../migrations/types';
import { formatDuration, tryParseDuration } from '../../config/duration';
import { emit, type GlobalOptions } from '../output';
import { formatVersion } from '../../format';
import { resolveInitiator } from '../initiator';
import { databaseUrlFromFlagOrEnv } from '../database-flags';
import { migrationsDirOption } from '../command-options';

interface MigrateOptions extends GlobalOptions {
  databaseUrl?: string;
  dir: string;
  lockTimeout: string;
  statementTimeout: string;
  lockWait: string;
  cancelBlockersAfter?: string;
  terminateIdleBlockersAfter?: string;
  as?: string;
}

const pad = formatVersion;

/** The database URL from --database-url or DATABASE_URL; UsageError (exit 2) when neither. */
export function databaseUrlFromFlags(options: { databaseUrl?: string }): string {
  return databaseUrlFromFlagOrEnv(
    { name: '--database-url', value: options.databaseUrl },
    'DATABASE_URL',
    'no database given: set the DATABASE_URL environment variable or pass --database-url',
  );
}

function durationOption(value: string, flag: string): number {
  const ms = tryParseDuration(value);
  if (ms === undefined)
    throw new UsageError(
      `${flag} "${value}" is not a duration: write e.g. 500ms, 30s, 10m (a bare number is milliseconds)`,
    );
  return ms;
}

/** While a migration waits for other sessions' locks, say who it waits for (stderr). */
function reportLockWait(options: GlobalOptions): RunnerOptions['onLockWait'] {
  if (options.json) return undefined;
  return (info) =>
    process.stderr.write(
      `${info.what}: waiting ${formatDuration(info.waitingForMs)} (${info.attempts} attempt(s)) for ${info.blockers.join('; ')}\n`,
    );
}

function runnerOptions(options: MigrateOptions): RunnerOptions {
  const wait = durationOption(options.lockWait, '--lock-wait');
  const cancel = options.cancelBlockersAfter;
  const terminate = options.terminateIdleBlockersAfter;
  return {
    lockTimeout: options.lockTimeout,
    statementTimeout: options.statementTimeout,
    lockWaitMs: wait,
    advisoryLockWaitMs: wait,
    ...(cancel ? { cancelBlockersAfterMs: durationOption(cancel, '--cancel-blockers-after') } : {}),
    ...(terminate
      ? {
          terminateIdleBlockersAfterMs: durationOption(
            terminate,
            '--terminate-idle-blockers-after',
          ),
        }
      : {}),
    onLockWait: reportLockWait(options),
    appliedBy: resolveInitiator(options.as),
  };
}

function parseVersion(value: string, what: string): number {
  if (!/^\d+$/.test(value))
    throw new UsageError(`${what} "${value}" is not a migration number (e.g. 8 or 008)`);
  return Number(value);
}

/** Loads the plan, connects, runs `fn`; the command's whole context in one place. */
async function withMigrationContext<T>(
  cmd: Command,
  sqlCheck: SqlCheck,
  fn: (ctx: {
    client: Client;
    plan: MigrationPlan;
    options: MigrateOptions;
    url: string;
  }) => Promise<T>,
): Promise<T> {
  const options = cmd.optsWithGlobals<MigrateOptions>();
  const url = databaseUrlFromFlags(options);
  // Connecting (TCP, SCRAM) and reading the files overlap: a 200-migration folder costs
  // about as long to parse as the handshake takes.
  const connecting = connect(url);
  connecting.catch(() => undefined);
  let plan: MigrationPlan;
  try {
    plan = await loadPlan(options.dir, { sqlCheck });
  } catch (error) {
    await connecting.then((client) => client.end()).catch(() => undefined);
    throw error;
  }
  const client = await connecting;
  try {
    return await fn({ client, plan, options, url });
  } catch (error) {
    throw toConnectionError(error, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withCommonOptions(cmd: Command): Command {
  return migrationsDirOption(
    cmd.option('--database-url <url>', 'target database (default: $DATABASE_URL)'),
  )
    .option(
      '--lock-timeout <duration>',
      'lock_timeout of each attempt: traffic never queues behind a migration for longer',
      DEFAULT_RUNNER_OPTIONS.lockTimeout,
    )
    .option(
      '--statement-timeout <duration>',
      'statement_timeout of every migration statement',
      DEFAULT_RUNNER_OPTIONS.statementTimeout,
    )
    .option(
      '--lock-wait <duration>',
      'how long a migration may wait for locks held by other sessions (and for another run holding the migration lock)',
      '10m',
    )
    .option(
      '--cancel-blockers-after <duration>',
      'opt-in: cancel queries that block a migration this long (recorded in pgshift.blocker_actions)',
    )
    .option(
      '--terminate-idle-blockers-after <duration>',
      'opt-in: terminate idle-in-transaction sessions that block a migration this long (recorded)',
    );
}

export function formatStatus(report: StatusReport & { database: string }): string {
  const lines = [`database: ${report.database}`, `current version: ${pad(report.currentVersion)}`];
  lines.push(`applied (${report.applied.length}):`);
  for (const e of report.applied)
    lines.push(
      `  ${pad(e.version)} ${e.name}  ${e.appliedAt} by ${e.appliedBy} (${e.durationMs} ms${e.source === 'migrate' ? '' : `, ${e.source}`})`,
    );
  lines.push(`pending (${report.pending.length}):`);
  for (const p of report.pending) lines.push(`  ${pad(p.version)} ${p.name}`);
  const drift = describeDrift(report);
  if (drift.length > 0) {
    lines.push(`drift (${drift.length}):`);
    for (const line of drift) lines.push(`  ${line}`);
  }
  return lines.join('\n');
}

export function formatRunResult(result: RunResult): string {
  const verb = result.direction === 'up' ? 'apply' : 'roll back';
  const lines: string[] = [];
  if (result.results.length === 0)
    lines.push(
      result.direction === 'up'
        ? `nothing to apply: database at version ${pad(result.fromVersion)}`
        : `nothing to roll back: database at version ${pad(result.fromVersion)}`,
    );
  else if (result.dryRun) lines.push(`dry run: would ${verb} (nothing was executed):`);
  const mark = { Success: 'ok   ', Error: 'ERROR', NotExecuted: '-    ', Skipped: 'skip ' };
  for (const r of result.results) {
    const file =
      result.direction === 'up'
        ? `${pad(r.version)}_${r.name}.sql`
        : `${pad(r.version)}_rollback.sql`;
    const status = result.dryRun ? 'would' : mark[r.status];
    lines.push(`  ${status} ${file}${r.status === 'Success' ? ` (${r.durationMs} ms)` : ''}`);
    for (const notice of r.notices ?? []) lines.push(`        NOTICE: ${notice}`);
    if (r.lockWait) {
      const w = r.lockWait;
      lines.push(
        `        waited ${formatDuration(w.waitedMs)} for locks (${w.attempts} attempt(s))${w.blockers.length ? `: ${w.blockers.join('; ')}` : ''}`,
      );
      for (const action of w.actions) lines.push(`        ${action}`);
    }
  }
  if (result.results.length > 0)
    lines.push(
      `version ${pad(result.fromVersion)} → ${pad(result.toVersion)}${result.dryRun ? ' (dry run)' : ''}`,
    );
  return lines.join('\n');
}

/** Prints the per-migration results of a failed run before main reports the error. */
function reportPartialRun(error: unknown, options: GlobalOptions): void {
  if (!options.json && error instanceof MigrationExecutionError && error.runResult)
    process.stdout.write(formatRunResult(error.runResult) + '\n');
}

/** Prints the result of a run; when it fails, what it did before failing, then the error. */
async function printRun(options: GlobalOptions, run: () => Promise<RunResult>): Promise<void> {
  try {
    emit(options, await run(), formatRunResult);
  } catch (error) {
    reportPartialRun(error, options);
    throw error;
  }
}

function formatEntries(entries: LedgerEntry[]): string {
  if (entries.length === 0) return 'baseline: every version was already recorded';
  return [
    `baseline: recorded ${entries.length} migration${entries.length === 1 ? '' : 's'} as applied without running them:`,
    ...entries.map((e) => `  ${pad(e.version)} ${e.name}`),
  ].join('\n');
}

function formatRepair(result: RepairResult): string {
  const lines =
    result.repaired.length === 0
      ? ['repair: no drifted file to accept']
      : [
          'repair: accepted the current content of:',
          ...result.repaired.map((d) => `  ${d.file} (version ${d.version})`),
        ];
  for (const v of result.missingFiles)
    lines.push(`  version ${pad(v)} is applied but has no files: restore them (repair does not)`);
  return lines.join('\n');
}

export function register(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('apply, roll back and inspect migrations on the database of DATABASE_URL');

  withCommonOptions(migrate.command('status'))
    .description('show applied, pending and drifted migrations')
    .action(async (_o, cmd: Command) =>
      withMigrationContext(cmd, 'all', async ({ client, plan, options, url }) => {
        const report = { database: redactUrl(url), ...(await readStatus(client, plan)) };
        emit(options, report, formatStatus);
        if (report.drifted.length > 0 || report.missingFiles.length > 0) process.exitCode = 1;
      }),
    );

  withCommonOptions(migrate.command('up'))
    .description('apply pending migrations, each in its own transaction')
    .option('--to <version>', 'stop after this version')
    .option('--dry-run', 'report what would run; change nothing')
    .option('--as <name>', 'recorded as applied_by (default: $PGSHIFT_USER or OS user)')
    .action(async (_o, cmd: Command) =>
      withMigrationContext(cmd, 'forward', async ({ client, plan, options }) => {
        const raw = cmd.opts<{ to?: string; dryRun?: boolean }>();
        const to = raw.to === undefined ? undefined : parseVersion(raw.to, '--to');
        await printRun(options, () =>
          migrateUp(client, plan, { ...runnerOptions(options), to, dryRun: raw.dryRun }),
        );
      }),
    );

  withCommonOptions(migrate.command('down'))
    .description('roll back to <target> (it stays applied; 0 rolls back everything)')
    .argument('<target>', 'version to keep')
    .option('--dry-run', 'report what would run; change nothing')
    .option('--as <name>', 'who runs it (default: $PGSHIFT_USER or OS user)')
    .action(async (target: string, _o, cmd: Command) =>
      withMigrationContext(cmd, 'all', async ({ client, plan, options }) => {
        const raw = cmd.opts<{ dryRun?: boolean }>();
        await printRun(options, () =>
          migrateDown(client, plan, parseVersion(target, 'target'), {
            ...runnerOptions(options),
            dryRun: raw.dryRun,
          }),
        );
      }),
    );

  withCommonOptions(migrate.command('validate'))
    .description('check that applied migrations still match their files (drift)')
    .action(async (_o, cmd: Command) =>
      withMigrationContext(cmd, 'all', async ({ client, plan, options, url }) => {
        const report = await validateApplied(client, plan);
        emit(
          options,
          { database: redactUrl(url), ok: true, ...report },
          (r) =>
            `${r.database}: all ${r.applied.length} applied migrations match their files (version ${pad(r.currentVersion)}, ${r.pending.length} pending)`,
        );
      }),
    );

  withCommonOptions(migrate.command('baseline'))
    .description('record migrations 1..<version> as applied without running them')
    .argument('<version>', 'the schema already contains every migration up to this one')
    .option('--as <name>', 'recorded as applied_by (default: $PGSHIFT_USER or OS user)')
    .action(async (version: string, _o, cmd: Command) =>
      withMigrationContext(cmd, 'all', async ({ client, plan, options }) => {
        const run = runnerOptions(options);
        const entries = await baseline(
          client,
          plan,
          parseVersion(version, 'version'),
          run.appliedBy,
          run.advisoryLockWaitMs,
        );
        emit(options, { recorded: entries }, (r) => formatEntries(r.recorded));
      }),
    );

  withCommonOptions(migrate.command('repair'))
    .description(
      'accept reviewed edits of applied files: update their checksums, recording who and why',
    )
    .requiredOption('--reason <text>', 'why the applied file was edited (kept in pgshift.repairs)')
    .option('--as <name>', 'recorded as repaired_by (default: $PGSHIFT_USER or OS user)')
    .option('--only <version...>', 'only these versions')
    .action(async (_o, cmd: Command) =>
      withMigrationContext(cmd, 'all', async ({ client, plan, options }) => {
        const raw = cmd.opts<{ reason: string; only?: string[] }>();
        const run = runnerOptions(options);
        const result = await repair(client, plan, {
          appliedBy: run.appliedBy,
          reason: raw.reason,
          versions: raw.only?.map((v) => parseVersion(v, '--only')),
          lockWaitMs: run.advisoryLockWaitMs,
        });
        emit(options, result, formatRepair);
      }),
    );
}
