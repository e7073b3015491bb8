import { planArgument } from '../../src/migrations/plan-ref';
import type { PlanRef } from '../../src/migrations/types';
import { quick } from '../activity-proxies';
import { stepFailure } from '../failures';

/** Where `environment` stands against `plan`; a drifted environment is refused (`DriftError`). */
export async function readStateWithoutDrift(environment: string, plan: PlanRef) {
  const state = await quick.readMigrationState.executeWithOptions(
    { summary: `read migration state of ${environment}` },
    [{ environment, plan: planArgument(plan) }],
  );
  if (state.drift.length)
    throw stepFailure('DriftError', `${environment} has drifted: ${state.drift.join('; ')}`);
  return state;
}
