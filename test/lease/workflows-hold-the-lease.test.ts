/**
 * The environment lease as the real workflows hold it: deploys and emergency rollbacks started
 * with the plain Temporal client (no pgshift CLI, so no client-side check) against the real
 * activities, PostgreSQL and the Temporal dev server.
 */
import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationPlan } from '../../src/migrations/types';
import { planChecksum } from '../../src/migrations/files';
import { progressQuery, type EmergencyRollbackResult } from '../../workflows/definitions';
import {
  leaseHolderQuery,
  leaseLastReleaseQuery,
  leaseWorkflowId,
} from '../../workflows/lease/definitions';
import { closeTestEnv } from '../support/temporal';
import {
  approveAll,
  createDeployStack,
  databaseState,
  loadFixturePlan,
  waitFor,
  waitForApprovalGate,
  waitForPhase,
  type DeployStack,
} from '../deploy/deploy-stack';

/** The activities that change the environment. */
const CHANGING = [
  'backupDatabase',
  'applyMigrations',
  'revertMigrations',
  'restoreDatabase',
  'deployApplication',
  'rollbackApplication',
];

type Event = temporal.api.history.v1.IHistoryEvent;

async function historyOf(handle: WorkflowHandle): Promise<Event[]> {
  return (await handle.fetchHistory()).events ?? [];
}

/** Times (ms) of the changing activities a run scheduled and of its last event. */
async function changingSpan(
  handle: WorkflowHandle,
): Promise<{ first?: number; last?: number; names: string[] }> {
  const events = await historyOf(handle);
  const changing = events.filter((e) =>
    CHANGING.includes(e.activityTaskScheduledEventAttributes?.activityType?.name ?? ''),
  );
  const time = (e: Event) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  // The span ends when the run sends its lease back (after compensation and its records).
  const released = events.filter(
    (e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName === 'leaseRelease',
  );
  const end = released.length ? released[released.length - 1] : events[events.length - 1];
  return {
    names: changing.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!),
    ...(changing.length ? { first: time(changing[0]), last: time(end) } : {}),
  };
}

async function failureOf(handle: WorkflowHandle): Promise<{ type?: string; message: string }> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as { type?: string; message: string };
}

function firstTwo(plan: MigrationPlan): MigrationPlan {
  const migrations = plan.migrations.filter((m) => m.version <= 2);
  return { migrations, checksum: planChecksum(migrations) };
}

describe('workflows that change an environment hold its lease', () => {
  let stack: DeployStack;
  let plan: MigrationPlan;

  beforeAll(async () => {
    stack = await createDeployStack();
    plan = await loadFixturePlan('deploy-churn');
    await stack.certify(plan);
    await stack.certify(firstTwo(plan));
  });

  afterAll(async () => {
    await stack?.stop();
    await closeTestEnv();
  });

  const lease = () => stack.client.workflow.getHandle(leaseWorkflowId('production'));

  it('runs the changing steps of two deploys of different plans one after the other; the second fails its re-check', async () => {
    await stack.useFreshProduction();
    // The first holds the lease for its 10 s monitoring window at least: the second must wait.
    const first = await stack.startDeploy(firstTwo(plan), { monitoringWindow: '10s' });
    const second = await stack.startDeploy(plan, { monitoringWindow: '3s' });
    await waitForApprovalGate(first);
    await waitForApprovalGate(second);

    await approveAll(first);
    await waitFor(`${first.workflowId} to be granted the lease`, async () =>
      (await historyOf(first)).some(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'leaseGranted',
      ),
    );
    await approveAll(second);
    // The second waits in line and says who holds the lease.
    const waiting = await waitForPhase(second, 'waiting-for-lease');
    await waitFor('the second deploy to name the holder', async () => {
      const progress = await second.query(progressQuery);
      return progress.currentDetails.includes(`held by productionDeploy ${first.workflowId}`);
    });
    expect(waiting.phase).toBe('waiting-for-lease');

    expect((await first.result()).finalState).toBe('completed');
    const refused = await failureOf(second);
    expect(refused.type).toBe('EnvironmentChanged');
    expect(refused.message).toMatch(
      /production changed while this deploy waited for its approvals and the lease: it is at version 2 .*not at version 0/,
    );
    expect(refused.message).toMatch(/nothing was changed/);

    const firstSpan = await changingSpan(first);
    const secondSpan = await changingSpan(second);
    expect(firstSpan.names).toContain('applyMigrations');
    expect(secondSpan.names).toEqual([]);
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([1, 2]);
    expect(db.deployments.map((d) => [d.workflow_id, d.status])).toEqual([
      [first.workflowId, 'completed'],
    ]);
  });

  it('lets the second deploy proceed after the first when the environment is still where it was validated', async () => {
    await stack.useFreshProduction();
    // The first deploy changes nothing but the application (no pending migration is needed
    // for the second one to stay valid), so the second goes ahead after it.
    const first = await stack.startDeploy(firstTwo(plan), { monitoringWindow: '3s' });
    await waitForApprovalGate(first);
    await approveAll(first);
    await waitForPhase(first, 'monitor');
    const second = await stack.startDeploy(plan, { monitoringWindow: '1s' });
    // Validated while the first holds the lease (production at 2): it waits, then proceeds.
    await waitForApprovalGate(second);
    await approveAll(second);
    expect((await first.result()).finalState).toBe('completed');
    expect((await second.result()).finalState).toBe('completed');
    const a = await changingSpan(first);
    const b = await changingSpan(second);
    expect(b.first).toBeGreaterThanOrEqual(a.last!);
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1, 2, 3]);
  });

  it('lets an emergency rollback run while a deploy waits for approvals; the deploy then re-checks and changes nothing', async () => {
    await stack.useFreshProduction();
    const earlier = await stack.startDeploy(firstTwo(plan), { monitoringWindow: '1s' });
    await waitForApprovalGate(earlier);
    await approveAll(earlier);
    expect((await earlier.result()).finalState).toBe('completed');

    const deploy = await stack.startDeploy(plan, { monitoringWindow: '1s' });
    await waitForApprovalGate(deploy);
    const rollback = await stack.client.workflow.start('emergencyRollback', {
      taskQueue: stack.taskQueue,
      workflowId: `rollback-production-${randomBytes(3).toString('hex')}`,
      args: [
        {
          environment: 'production',
          initiator: 'carol',
          mode: 'migration',
          migrationTarget: 1,
          plan,
          breakGlass: { reason: 'test: the deploy waits for approvals' },
          options: { watchWindow: '1s', watchInterval: '1s' },
        },
      ],
    });
    const rolledBack = (await rollback.result()) as EmergencyRollbackResult;
    expect(rolledBack.finalState).toBe('completed');
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1]);

    await approveAll(deploy);
    const refused = await failureOf(deploy);
    expect(refused.type).toBe('EnvironmentChanged');
    expect(refused.message).toMatch(/it is at version 1 .*not at version 2/);
    expect((await changingSpan(deploy)).names).toEqual([]);
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1]);
  });

  it('releases the lease of a holder terminated mid-run', async () => {
    await stack.useFreshProduction();
    // A lease that checks its holder every second (the default is a minute).
    await lease()
      .terminate('test: restart the lease with a short holder check')
      .catch(() => undefined);
    await stack.client.workflow.start('environmentLease', {
      taskQueue: stack.taskQueue,
      workflowId: leaseWorkflowId('production'),
      args: [{ environment: 'production', holderCheckInterval: '1s', idleTimeout: '10m' }],
    });
    const deploy = await stack.startDeploy(firstTwo(plan), { monitoringWindow: '10m' });
    await waitForApprovalGate(deploy);
    await approveAll(deploy);
    await waitForPhase(deploy, 'monitor');
    expect((await lease().query(leaseHolderQuery))?.workflowId).toBe(deploy.workflowId);

    await deploy.terminate('test: the holder dies mid-run');
    const release = await waitFor('the lease to find its holder closed', async () => {
      const last = await lease().query(leaseLastReleaseQuery);
      return last?.holder.workflowId === deploy.workflowId ? last : undefined;
    });
    expect(release!.holder.workflowId).toBe(deploy.workflowId);
    expect(release!.how).toBe('TERMINATED');
    expect(await lease().query(leaseHolderQuery)).toBeNull();
  });
});
