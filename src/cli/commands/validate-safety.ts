import type { Command } from 'commander';
import { formatFindings } from '../../lint/format-findings';
import { assessRisk, lintSafety, type RiskAssessment } from '../../lint/safety';
import { formatVersion } from '../../format';
import { registerPlanCheck, runPlanCheck, type PlanCheckOutput } from './validate-plan-check';

export interface ValidateSafetyOutput extends PlanCheckOutput {
  /** Squawk findings left out as not applicable to this format, by rule. */
  suppressed: Record<string, number>;
  risk: RiskAssessment;
}

export async function runValidateSafety(dir: string): Promise<ValidateSafetyOutput> {
  const { plan, report, ...output } = await runPlanCheck(dir, (plan) => lintSafety(plan));
  return { ...output, suppressed: report.suppressed, risk: assessRisk(plan, report.findings) };
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
  registerPlanCheck(
    validateCmd,
    'safety',
    "run Squawk and the guide's rules: idempotency, transactions, data-loss warnings, secrets, locking changes on existing tables",
    runValidateSafety,
    formatSafety,
  );
}
