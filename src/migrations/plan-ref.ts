import type { MigrationPlan, PlanArgument, PlanRef } from './types';

/**
 * Pure helpers of plan references (workflows import them: no I/O here). A plan reference is
 * what a workflow carries of a plan: names, versions, flags and checksums, never the SQL.
 */

/**
 * The plan without its SQL and headers: what a workflow input carries. Flags at their default
 * (in a transaction, not high risk) are left out: a reference of 5,000 migrations is then
 * about 1.5 MB, within the 2 MB Temporal accepts for one payload.
 */
export function toPlanRef(plan: MigrationPlan): PlanRef {
  const file = (f: { file: string; checksum: string; transactional: boolean }) => ({
    file: f.file,
    checksum: f.checksum,
    ...(f.transactional ? {} : { transactional: false }),
  });
  return {
    checksum: plan.checksum,
    migrations: plan.migrations.map((m) => ({
      version: m.version,
      name: m.name,
      forward: file(m.forward),
      rollback: file(m.rollback),
      ...(m.highRisk ? { highRisk: true } : {}),
    })),
  };
}

/** True when every file of the plan carries its SQL (the inputs of runs started before the plan store). */
export function carriesSql(plan: PlanRef): boolean {
  return plan.migrations.every(
    (m) => typeof m.forward.sql === 'string' && typeof m.rollback.sql === 'string',
  );
}

/**
 * What the workflow passes to an activity for `plan`: the checksum alone when the plan is in
 * the plan store (the history stays small whatever the plan's size), the plan itself when its
 * input carried the SQL (runs started before the plan store keep working, and replay).
 */
export function planArgument(plan: PlanRef): PlanArgument {
  return plan.migrations.length === 0 || carriesSql(plan) ? plan : { checksum: plan.checksum };
}
