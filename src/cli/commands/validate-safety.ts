import type { Command } from 'commander';
import { countFindings, formatFindings } from '../../lint/format-findings';
import { assessRisk, lintSafety, type RiskAssessment } from '../../lint/safety';
import { loadMigrations } from '../../migrations/files';
import type { Finding } from '../../migrations/types';
import { emit, type GlobalOptions } from '../output';
import { migrationsDir } from './validate-deps';
import { formatVersion } from '../../format';

export interface ValidateSafetyOutput {
  dir: string;
  migrations: number;
  errors: number;
  warnings: number;
  findings: Finding[];
  /** Squawk findings left out as not applicable to this format, by rule. */
  suppressed: Record<string, number>;
  risk: RiskAssessment;
}

export async function runValidateSafety(dir: string): Promise<ValidateSafetyOutput> {
  const { plan, findings: structure } = await loadMigrations(dir);
  const report = await lintSafety(plan);
  const findings = [...structure.filter((f) => f.severity === 'error'), ...report.findings];
  return {
    dir,
    migrations: plan.migrations.length,
    ...countFindings(findings),
    findings,
    suppressed: report.suppressed,
    risk: assessRisk(plan, report.findings),
  };
}

function formatSafety(output: ValidateSafetyOutput): string {
  const text = formatFindings(
    output.findings,
    `validate safety: ${output.migrations} migrations in ${output.dir}`,
  );
  const risk = output.risk.highRisk
    ? `high risk (executive approval required for production): ${output.risk.versions.map(formatVersion).join(', ')}`
    : 'no high-risk migrations';
  return `${text}\n${risk}`;
}

export function registerValidateSafety(validateCmd: Command): void {
  validateCmd
    .command('safety')
    .description(
      "run Squawk and the guide's rules: idempotency, transactions, data-loss warnings, secrets, locking changes on existing tables",
    )
    .option('--dir <folder>', 'migrations folder (default: migrations)')
    .action(async (_options: unknown, cmd: Command) => {
      const options = cmd.optsWithGlobals<GlobalOptions>();
      const output = await runValidateSafety(migrationsDir(cmd));
      emit(options, output, formatSafety);
      if (output.errors > 0) process.exitCode = 1;
    });
}
