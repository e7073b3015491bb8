import { databaseUrlFromFlagOrEnv } from '../database-flags';
import type { Command } from 'commander';
import { redactUrl } from '../../migrations/database';
import { UsageError } from '../../errors';
import { loadPlan } from '../../migrations/files';
import { testRollbacksDryRun } from '../../migrations/rollback-dry-run';
import {
  testAllRollbacks,
  testRollback,
  versionLabel,
  type RollbackTestReport,
} from '../../migrations/rollback-test';
import type { MigrationPlan } from '../../migrations/types';
import { emit, type GlobalOptions } from '../output';
import { migrationsDirOption } from '../command-options';
import { formatVersion } from '../../format';

interface TestRollbackOptions extends GlobalOptions {
  migration?: string;
  all?: boolean;
  dryRun?: boolean;
  dir: string;
  testDatabaseUrl?: string;
  lockTimeout?: string;
  statementTimeout?: string;
}

/** The server for scratch databases: --test-database-url or TEST_DATABASE_URL, never DATABASE_URL. */
export function resolveTestServerUrl(options: { testDatabaseUrl?: string }): string {
  return databaseUrlFromFlagOrEnv(
    { name: '--test-database-url', value: options.testDatabaseUrl },
    'TEST_DATABASE_URL',
    'no test server given: set TEST_DATABASE_URL (e.g. postgresql://user:pass@localhost/postgres) or pass --test-database-url; rollback tests create and drop scratch databases on that server and never touch DATABASE_URL',
  );
}

type Mode = { kind: 'migration'; version: number } | { kind: 'all' } | { kind: 'dry-run' };

function chooseMode(options: TestRollbackOptions): Mode {
  const chosen = [options.migration !== undefined, options.all, options.dryRun].filter(Boolean);
  if (chosen.length !== 1)
    throw new UsageError(
      'choose exactly one of --migration=N (one rollback), --all (every rollback) or --dry-run (every rollback inside a transaction that is rolled back)',
    );
  if (options.migration !== undefined) {
    if (!/^\d+$/.test(options.migration))
      throw new UsageError(
        `--migration "${options.migration}" is not a migration number (e.g. 7 or 007)`,
      );
    return { kind: 'migration', version: Number(options.migration) };
  }
  return options.all ? { kind: 'all' } : { kind: 'dry-run' };
}

/** Runs the chosen rollback test; the core of the command, without printing. */
export async function runRollbackTests(
  serverUrl: string,
  plan: MigrationPlan,
  mode: Mode,
  runner: { lockTimeout?: string; statementTimeout?: string } = {},
): Promise<RollbackTestReport> {
  const options = {
    runner: Object.fromEntries(Object.entries(runner).filter(([, v]) => v !== undefined)),
  };
  if (mode.kind === 'migration')
    return testRollback(serverUrl, plan, { ...options, migration: mode.version });
  if (mode.kind === 'all') return testAllRollbacks(serverUrl, plan, options);
  return testRollbacksDryRun(serverUrl, plan, options);
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** One line per migration (✓/✗/–, duration), then each difference and error under it. */
export function formatRollbackReport(report: RollbackTestReport, plan: MigrationPlan): string {
  const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
  const lines: string[] = [];
  for (const result of report.migrations) {
    const migration = byVersion.get(result.version);
    const label = migration ? versionLabel(migration) : formatVersion(result.version);
    const mark = result.status === 'passed' ? '✓' : result.status === 'failed' ? '✗' : '–';
    const status = result.status === 'skipped' ? ' (skipped)' : '';
    lines.push(`${mark} ${label}_${result.name} (${result.durationMs} ms)${status}`);
    for (const difference of result.differences) lines.push(`    ${difference}`);
    if (result.differences.length > 0)
      lines.push(
        `    → ${label}_rollback.sql did not restore the schema before ${label}_${result.name}.sql`,
      );
    if (result.error) lines.push(indent(result.error, '    '));
    for (const note of result.notes ?? []) lines.push(`    note: ${note}`);
  }
  if (report.unchanged === false)
    lines.push(
      'the scratch database changed although every rollback ran in a transaction that was rolled back',
    );
  const failed = report.migrations.filter((m) => m.status === 'failed').length;
  const skipped = report.migrations.filter((m) => m.status === 'skipped').length;
  const passed = report.migrations.length - failed - skipped;
  const total = report.migrations.length;
  const what =
    report.mode === 'dry-run'
      ? `rollback${total === 1 ? '' : 's'} tried in a rolled-back transaction`
      : `rollback${total === 1 ? '' : 's'} tested`;
  lines.push(
    `${report.passed ? 'ok' : 'FAILED'}: ${total} ${what}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${report.durationMs} ms)`,
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  const test = program.command('test').description('tests of migrations in scratch databases');
  migrationsDirOption(
    test
      .command('rollback')
      .description(
        'prove that rollbacks restore the schema exactly (catalog snapshot before the migration = after its rollback) and that migrations rerun, in scratch databases on the server of TEST_DATABASE_URL',
      )
      .option('--migration <N>', 'test the rollback of migration N (1..N-1 applied first)')
      .option('--all', 'test every rollback, walking forward through one scratch database')
      .option(
        '--dry-run',
        'run every rollback, newest first, inside one transaction that is rolled back',
      ),
  )
    .option(
      '--test-database-url <url>',
      'server for scratch databases (default: TEST_DATABASE_URL)',
    )
    .option('--lock-timeout <duration>', 'lock_timeout while running the files')
    .option('--statement-timeout <duration>', 'statement_timeout while running the files')
    .action(async (_options: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<TestRollbackOptions>();
      const mode = chooseMode(options);
      const serverUrl = resolveTestServerUrl(options);
      const plan = await loadPlan(options.dir);
      if (!options.json && options.verbose)
        process.stderr.write(`scratch databases on ${redactUrl(serverUrl)}\n`);
      const report = await runRollbackTests(serverUrl, plan, mode, {
        lockTimeout: options.lockTimeout,
        statementTimeout: options.statementTimeout,
      });
      emit(options, report, (r) => formatRollbackReport(r, plan));
      if (!report.passed) process.exitCode = 1;
    });
}
