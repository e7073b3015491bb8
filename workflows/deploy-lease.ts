import { planArgument } from '../src/migrations/plan-ref';
import { patched } from '@temporalio/workflow';
import { quick } from './activity-proxies';
import type { DeployRun } from './deploy-run';
import { stepFailure } from './failures';
import { ENVIRONMENT_LEASE_PATCH } from './lease/definitions';

/**
 * After the approvals: the environment lease (one actor per environment, held until the end of
 * compensation), then a re-check, since another run may have changed the environment meanwhile.
 */
export async function holdEnvironment(run: DeployRun): Promise<void> {
  if (!patched(ENVIRONMENT_LEASE_PATCH)) return;
  run.tracker.setPhase('waiting-for-lease', `asking for the lease on ${run.environment}`);
  await run.lease.acquire({
    kind: 'productionDeploy',
    initiator: run.initiator,
    purpose: `deploy plan ${run.shortPlan} (${run.pending.length} migration(s) up to ${run.top})`,
  });
  await recheckEnvironment(run);
  run.checkCancel();
}

/**
 * Holding the lease: the environment must still be where the plan was approved for (a
 * rollback or another deploy may have run while this one waited); else nothing is changed.
 */
async function recheckEnvironment(run: DeployRun): Promise<void> {
  const { environment, plan, shortPlan, fromVersion, pending } = run;
  const now = await quick.readMigrationState.executeWithOptions(
    { summary: `re-read the migration state of ${environment} (lease held)` },
    [{ environment, plan: planArgument(plan) }],
  );
  const changed = now.drift.length
    ? `it has drifted from plan ${shortPlan}: ${now.drift.join('; ')}`
    : now.currentVersion !== fromVersion || now.pending.join(',') !== pending.join(',')
      ? `it is at version ${now.currentVersion} with ${now.pending.length} pending migration(s), not at version ${fromVersion} with ${pending.length} pending as when validated`
      : undefined;
  if (changed)
    throw stepFailure(
      'EnvironmentChanged',
      `${environment} changed while this deploy waited for its approvals and the lease: ${changed}. The approvals were given for version ${fromVersion}; start a new deploy of plan ${shortPlan} so that it is validated and approved against the current state`,
    );
}
