import type { Command } from 'commander';
import { countFindings } from '../../lint/format-findings';
import { loadMigrations } from '../../migrations/files';
import type { Finding, MigrationPlan } from '../../migrations/types';
import { emit, type GlobalOptions } from '../output';

/** What `validate deps` and `validate safety` print: the folder, the counts, every finding. */
export interface PlanCheckOutput {
  dir: string;
  migrations: number;
  errors: number;
  warnings: number;
  findings: Finding[];
}

/**
 * Loads a migrations folder and runs one check over its plan. The folder's structure errors
 * come first (a check of a malformed folder would mislead without them), then the check's
 * findings; both are counted.
 */
export async function runPlanCheck<R extends { findings: Finding[] }>(
  dir: string,
  check: (plan: MigrationPlan) => Promise<R>,
): Promise<PlanCheckOutput & { plan: MigrationPlan; report: R }> {
  const { plan, findings: structure } = await loadMigrations(dir);
  const report = await check(plan);
  const findings = [...structure.filter((f) => f.severity === 'error'), ...report.findings];
  return {
    dir,
    migrations: plan.migrations.length,
    ...countFindings(findings),
    findings,
    plan,
    report,
  };
}

/**
 * Registers `validate <name>` (`--dir`, or `validate --dir … <name>`): prints the output,
 * `--json` as is, and exits 1 when it holds errors.
 */
export function registerPlanCheck<O extends { errors: number }>(
  validateCmd: Command,
  name: string,
  description: string,
  run: (dir: string) => Promise<O>,
  format: (output: O) => string,
): void {
  validateCmd
    .command(name)
    .description(description)
    .option('--dir <folder>', 'migrations folder (default: migrations)')
    .action(async (_options: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const dir =
        (cmd.opts().dir as string | undefined) ??
        (cmd.parent?.opts().dir as string | undefined) ??
        'migrations';
      const output = await run(dir);
      emit(options, output, format);
      if (output.errors > 0) process.exitCode = 1;
    });
}
