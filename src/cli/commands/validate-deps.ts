import type { Command } from 'commander';
import { validateDeps, type MigrationDependencies } from '../../lint/deps';
import { countFindings, formatFindings } from '../../lint/format-findings';
import { loadMigrations } from '../../migrations/files';
import type { Finding } from '../../migrations/types';
import { emit, type GlobalOptions } from '../output';

export interface ValidateDepsOutput {
  dir: string;
  migrations: number;
  errors: number;
  warnings: number;
  findings: Finding[];
  /** Per migration: the versions it depends on and the objects it creates, drops and uses. */
  graph: MigrationDependencies[];
  cycles: number[][];
}

/** Folder from `validate deps --dir` or `validate --dir … deps`. */
export function migrationsDir(cmd: Command): string {
  return (
    (cmd.opts().dir as string | undefined) ?? (cmd.parent?.opts().dir as string) ?? 'migrations'
  );
}

export async function runValidateDeps(dir: string): Promise<ValidateDepsOutput> {
  const { plan, findings: structure } = await loadMigrations(dir);
  const report = await validateDeps(plan);
  const findings = [...structure.filter((f) => f.severity === 'error'), ...report.findings];
  return {
    dir,
    migrations: plan.migrations.length,
    ...countFindings(findings),
    findings,
    graph: report.migrations,
    cycles: report.cycles,
  };
}

export function registerValidateDeps(validateCmd: Command): void {
  validateCmd
    .command('deps')
    .description(
      'parse the SQL with the PostgreSQL parser: objects used before the migration that creates them, dependency cycles, rollbacks that break the migrations that stay applied',
    )
    .option('--dir <folder>', 'migrations folder (default: migrations)')
    .action(async (_options: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const output = await runValidateDeps(migrationsDir(cmd));
      emit(options, output, (o) =>
        formatFindings(o.findings, `validate deps: ${o.migrations} migrations in ${o.dir}`),
      );
      if (output.errors > 0) process.exitCode = 1;
    });
}
