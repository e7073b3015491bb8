import { carriesSql } from '../src/migrations/plan-ref';
import { PlanStore } from '../src/migrations/plan-store';
import type { MigrationPlan, PlanArgument, PlanRef } from '../src/migrations/types';
import type { ActivityDeps } from './deps';

/** The worker's plan store (config plansDir): shared with the CLI that stored the plan. */
export function planStoreOf(deps: ActivityDeps): PlanStore {
  return new PlanStore(deps.config.plansDir);
}

/**
 * The whole plan an activity call names: loaded from the plan store by checksum and verified
 * (file checksums, flags derived from the SQL, plan checksum), or taken as it came when the
 * call carried the SQL (runs started before the plan store; the empty plan).
 */
export async function resolvePlan(deps: ActivityDeps, plan: PlanArgument): Promise<MigrationPlan> {
  if (plan.migrations && carriesSql(plan as PlanRef)) return plan as MigrationPlan;
  const store = planStoreOf(deps);
  return plan.migrations
    ? store.hydrate({ checksum: plan.checksum, migrations: plan.migrations })
    : store.loadPlan(plan.checksum);
}
