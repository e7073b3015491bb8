import { eachWithTurns } from '../src/event-loop';
import { fileChecksum, planChecksum } from '../src/migrations/files';
import { readHeaderBlock } from '../src/migrations/headers';
import { flagsOf } from '../src/migrations/plan';
import { MigrationFileError } from '../src/migrations/errors';
import { touchedTables } from '../src/migrations/lock-targets';
import type { Finding, MigrationPlan, PlanArgument } from '../src/migrations/types';
import { validateDeps } from '../src/lint/deps';
import { validateSafety, assessRisk } from '../src/lint/safety';
import { asActivity, type ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { resolvePlan } from './plan-store';

export interface PlanValidation {
  planChecksum: string;
  migrations: number;
  errors: Finding[];
  warningCount: number;
  highRisk: boolean;
  riskReasons: string[];
  /** Tables the plan's forward files lock (quoted names, at most 20): the deploy probes them. */
  touchedTables?: string[];
}

/**
 * Refuses a plan whose files do not match their checksums, whose flags (transaction,
 * high risk) are not the ones their headers say, or whose checksum does not match its files
 * and flags: what the worker applies is exactly what was validated and approved, and the
 * flags it trusts are derived from the SQL by the worker itself.
 */
export async function assertPlanIntegrity(plan: MigrationPlan): Promise<void> {
  const findings: Finding[] = [];
  await eachWithTurns(plan.migrations, (m) => {
    for (const file of [m.forward, m.rollback])
      if (fileChecksum(Buffer.from(file.sql, 'utf8')) !== file.checksum)
        findings.push({
          severity: 'error',
          rule: 'plan-integrity',
          file: file.file,
          message: `${file.file} does not match its checksum in the plan: the plan was altered after it was read`,
        });
    const forward = readHeaderBlock(m.forward.file, m.forward.sql);
    const rollback = readHeaderBlock(m.rollback.file, m.rollback.sql);
    const derived = flagsOf({
      forward: { ...m.forward, transactional: !forward.noTransaction },
      rollback: { ...m.rollback, transactional: !rollback.noTransaction },
      highRisk: forward.highRisk,
    });
    if (derived !== flagsOf(m))
      findings.push({
        severity: 'error',
        rule: 'plan-integrity',
        file: m.forward.file,
        message: `migration ${m.version} carries flags ${flagsOf(m)} but its files say ${derived} (transaction, rollback transaction, risk): the plan was altered after it was read`,
      });
  });
  const expected = planChecksum(plan.migrations);
  if (expected !== plan.checksum)
    findings.push({
      severity: 'error',
      rule: 'plan-integrity',
      message: `plan checksum ${plan.checksum.slice(0, 12)} does not match its files (${expected.slice(0, 12)})`,
    });
  if (findings.length) throw new MigrationFileError(findings);
}

export function createPlanActivities(deps: ActivityDeps) {
  return {
    /** Integrity, dependency and safety validation of the plan the workflow names. */
    async validatePlan(input: { plan: PlanArgument }): Promise<PlanValidation> {
      // Parsing thousands of files takes minutes on a busy host: heartbeat on a timer meanwhile.
      return asActivity(() =>
        withHeartbeat(async () => {
          const plan = await resolvePlan(deps, input.plan);
          await assertPlanIntegrity(plan);
          const dependencies = await validateDeps(plan);
          const safety = await validateSafety(plan);
          const findings = [...dependencies.findings, ...safety];
          const risk = assessRisk(plan, safety);
          const errors = findings.filter((f) => f.severity === 'error');
          return {
            planChecksum: plan.checksum,
            migrations: plan.migrations.length,
            errors: errors.slice(0, 50),
            warningCount: findings.length - errors.length,
            highRisk: risk.highRisk,
            riskReasons: risk.reasons.slice(0, 20),
            touchedTables: await touchedTables(plan),
          };
        }),
      );
    },
  };
}
