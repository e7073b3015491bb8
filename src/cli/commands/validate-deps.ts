import type { Command } from 'commander';
import { validateDeps, type MigrationDependencies } from '../../lint/deps';
import { formatFindings } from '../../lint/format-findings';
import { registerPlanCheck, runPlanCheck, type PlanCheckOutput } from './validate-plan-check';

export interface ValidateDepsOutput extends PlanCheckOutput {
  /** Per migration: the versions it depends on and the objects it creates, drops and uses. */
  graph: MigrationDependencies[];
  cycles: number[][];
}

export async function runValidateDeps(dir: string): Promise<ValidateDepsOutput> {
  const { plan: _plan, report, ...output } = await runPlanCheck(dir, validateDeps);
  return { ...output, graph: report.migrations, cycles: report.cycles };
}

export function registerValidateDeps(validateCmd: Command): void {
  registerPlanCheck(
    validateCmd,
    'deps',
    'parse the SQL with the PostgreSQL parser: objects used before the migration that creates them, dependency cycles, rollbacks that break the migrations that stay applied',
    runValidateDeps,
    (o) => formatFindings(o.findings, `validate deps: ${o.migrations} migrations in ${o.dir}`),
  );
}
