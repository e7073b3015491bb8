import { CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { FleetActivities } from '../../activities/fleet';
import { EnvironmentLease } from '../lease/lease-client';
import { ProgressTracker } from '../progress-tracker';
import { parseWorkflowInput } from '../text';
import {
  fleetDatabaseInputSchema,
  type FleetDatabaseInput,
  type FleetDatabaseResult,
} from './definitions';
import { rollbackDatabase } from './database-rollback';
import { MEMBER_DEPLOY_STEPS, MemberDeploy } from './member-deploy';

const ROLLBACK_STEPS = ['authorize', 'rollback', 'verify'];

/**
 * The parent check: a describe and a query, seconds at most. A short timeout, so that an
 * attempt lost with a killed worker is retried soon (the `quick` proxy would wait 2 minutes).
 */
const { verifyFleetParent } = proxyActivities<FleetActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

/**
 * One database of a fleet rollout (a child of `fleetDeploy`): the production deploy's steps
 * without its approval gate — authorize, lease, backup, baseline, migrate, verify, monitor —
 * and, on a failure after a change, the same compensation (rollback files, else the backup).
 * In `rollback` mode it returns the database to the version it had before the rollout.
 *
 * It trusts nothing in its input about approvals: before any change an activity checks that
 * the server-recorded parent (`workflowInfo().parent`) is a running `fleetDeploy` on this
 * task queue whose approvals, replayed against the worker's roster, authorize this database,
 * plan and mode. A start by hand fails with `FleetParentRefused` and changes nothing.
 *
 * Business failures are results (`failed`, `needs-attention`), not workflow failures, so the
 * parent's history keeps one small result per database.
 */
export async function fleetDatabaseDeploy(input: FleetDatabaseInput): Promise<FleetDatabaseResult> {
  parseWorkflowInput(fleetDatabaseInputSchema, input, 'fleetDatabaseDeploy');
  const { environment, plan, initiator, mode } = input;
  const info = workflowInfo();
  const tracker = new ProgressTracker(
    'productionDeploy',
    environment,
    mode === 'deploy' ? MEMBER_DEPLOY_STEPS : ROLLBACK_STEPS,
  );
  const lease = new EnvironmentLease(environment, {
    onWaiting: (details) => tracker.setPhase('waiting-for-lease', details),
  });
  const parentId = info.parent?.workflowId ?? '(none)';

  tracker.start('authorize', `checking that fleet rollout ${parentId} authorizes this ${mode}`);
  const authorized = await verifyFleetParent.executeWithOptions(
    { summary: `verify that ${parentId} authorizes the ${mode} of ${environment}` },
    [
      {
        parent: info.parent
          ? { workflowId: info.parent.workflowId, runId: info.parent.runId }
          : undefined,
        fleet: input.fleet,
        environment,
        planChecksum: plan.checksum,
        mode,
      },
    ],
  );
  tracker.complete(
    'authorize',
    `approved by ${authorized.approvedBy.join(', ') || 'nobody required'}`,
  );

  try {
    await lease.acquire({
      kind: 'fleetDatabaseDeploy',
      initiator,
      purpose: `${mode} of plan ${plan.checksum.slice(0, 12)} (fleet ${input.fleet})`,
    });
    return mode === 'deploy'
      ? await new MemberDeploy(input, tracker).run()
      : await rollbackDatabase(input, tracker);
  } finally {
    await CancellationScope.nonCancellable(() => lease.release());
  }
}
