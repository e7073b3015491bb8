import type { MigrationPlan, PlanArgument, PlanRef } from './types';

/**
 * Pure helpers of plan references (workflows import them: no I/O here). A plan reference is
 * what a workflow carries of a plan: names, versions, flags and checksums, never the SQL.
 */

/** The plan without its SQL and headers: what a workflow input carries. */
export function toPlanRef(plan: MigrationPlan): PlanRef {
  return {
    checksum: plan.checksum,
    migrations: plan.migrations.map((m) => ({
      version: m.version,
      name: m.name,
      forward: {
        file: m.forward.file,
        checksum: m.forward.checksum,
        transactional: m.forward.transactional,
      },
      rollback: {
        file: m.rollback.file,
        checksum: m.rollback.checksum,
        transactional: m.rollback.transactional,
      },
      highRisk: m.highRisk,
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
