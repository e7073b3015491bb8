import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fleetOverviewQuery,
  resumeFleetSignal,
  rollbackFleetSignal,
  type FleetDeployResult,
  type FleetOverview,
} from '../../workflows/fleet/definitions';
import type { fleetDatabaseDeploy } from '../../workflows/fleet/database-deploy';
import { query } from '../support/databases';
import { Worker } from '@temporalio/worker';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../src/temporal/worker';
import { closeTestEnv, workflowBundle } from '../support/temporal';
import {
  approveFleet,
  createFleetStack,
  memberNames,
  versionsOf,
  waitForStage,
  type FleetStack,
} from './fleet-stack';

const TENANTS = memberNames('tenant', 24);
/** In wave 2 (waves end after 1, 6 and 24 databases): it holds a payload 003 refuses. */
const BROKEN = 'tenant-04';

let stack: FleetStack;

beforeAll(async () => {
  stack = await createFleetStack({
    tenants: {
      members: TENANTS,
      waves: [1, '25%', '100%'],
      concurrency: 4,
      failureBudget: 0,
    },
  });
  await query(stack.urls[BROKEN], `INSERT INTO events (payload) VALUES ('[1, 2]')`);
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

const statusOf = (overview: FleetOverview) => (wave: number) => overview.waves[wave - 1].counts;

let handle: Awaited<ReturnType<FleetStack['startFleet']>>;

describe('fleet rollout of 24 databases in waves', () => {
  it(
    'halts in the wave of a failing database: the failure is compensated, finished databases stay, no later wave starts',
    { timeout: 300_000 },
    async () => {
      // Three children per run: the rollout continues as new several times on the way.
      handle = await stack.startFleet('tenants', { childrenPerRun: 3 });
      await approveFleet(stack.client, handle);
      const halted = await waitForStage(stack.client, handle, 'halted');

      expect(halted.waves.map((w) => w.size)).toEqual([1, 5, 18]);
      expect(statusOf(halted)(1)).toEqual({ deployed: 1 });
      expect(statusOf(halted)(3)).toEqual({ pending: 18 });
      expect(halted.failures).toBe(1);
      expect(halted.failed).toEqual([
        {
          environment: BROKEN,
          status: 'failed',
          reason: expect.stringMatching(
            /migration failure: .*events_payload_is_object.*\(compensated\)/,
          ),
        },
      ]);
      expect(await versionsOf(stack.urls[BROKEN])).toEqual([1]);
      const wave2 = TENANTS.slice(1, 6).filter((t) => t !== BROKEN);
      const wave2Counts = statusOf(halted)(2);
      expect(wave2Counts.failed).toBe(1);
      expect((wave2Counts.deployed ?? 0) + (wave2Counts.pending ?? 0)).toBe(4);
      expect(wave2Counts.deployed).toBeGreaterThanOrEqual(2);
      let deployedInWave2 = 0;
      for (const tenant of wave2) {
        const versions = await versionsOf(stack.urls[tenant]);
        expect([[1], [1, 2, 3]]).toContainEqual(versions);
        if (versions.length === 3) deployedInWave2++;
      }
      expect(deployedInWave2).toBe(wave2Counts.deployed);
      expect(await versionsOf(stack.urls[TENANTS[0]])).toEqual([1, 2, 3]);
      for (const tenant of TENANTS.slice(6))
        expect(await versionsOf(stack.urls[tenant])).toEqual([1]);

      // `pgshift status` reads the progress query: one step per wave, failures named.
      const latest = stack.client.workflow.getHandle(handle.workflowId);
      const description = await latest.describe();
      expect(description.runId).not.toBe(handle.firstExecutionRunId);
    },
  );

  it(
    'refuses a resume from someone off the roster, then resumes: the failed database is tried again and every wave rolls out',
    { timeout: 300_000 },
    async () => {
      const latest = stack.client.workflow.getHandle(handle.workflowId);
      await latest.signal(resumeFleetSignal, { kind: 'resume', by: 'mallory' });
      await query(stack.urls[BROKEN], `DELETE FROM events WHERE jsonb_typeof(payload) <> 'object'`);
      await latest.signal(resumeFleetSignal, {
        kind: 'resume',
        by: 'carol',
        reason: 'bad payload removed',
      });
      const done = await waitForStage(stack.client, handle, 'rolled-out');
      expect(done.waves.map((w) => w.counts)).toEqual([
        { deployed: 1 },
        { deployed: 5 },
        { deployed: 18 },
      ]);
      expect(done.failed).toEqual([]);
      expect(done.decisions.map((d) => [d.by, d.refused ?? 'accepted'])).toEqual([
        ['mallory', 'mallory is not on the approvals roster of fleet tenants'],
        ['carol', 'accepted'],
      ]);
      for (const tenant of TENANTS) expect(await versionsOf(stack.urls[tenant])).toEqual([1, 2, 3]);
    },
  );

  it(
    'rolls the fleet back, waves in reverse, and completes as rolled-back',
    { timeout: 300_000 },
    async () => {
      const latest = stack.client.workflow.getHandle(handle.workflowId);
      await latest.signal(rollbackFleetSignal, { kind: 'rollback', by: 'alice', reason: 'test' });
      const result = (await latest.result()) as FleetDeployResult;
      expect(result.finalState).toBe('rolled-back');
      expect(result.waves.map((w) => w.counts)).toEqual([
        { 'rolled-back': 1 },
        { 'rolled-back': 5 },
        { 'rolled-back': 18 },
      ]);
      for (const tenant of TENANTS) expect(await versionsOf(stack.urls[tenant])).toEqual([1]);
      // Waves in reverse: every database of wave 3 was back before the canary of wave 1.
      const finishedAt = async (tenant: string) =>
        Date.parse(
          (
            await query<{ finished_at: Date }>(
              stack.urls[tenant],
              `SELECT finished_at FROM pgshift.deployments WHERE kind = 'rollback'`,
            )
          )[0].finished_at.toISOString(),
        );
      const canary = await finishedAt(TENANTS[0]);
      for (const tenant of TENANTS.slice(6))
        expect(await finishedAt(tenant)).toBeLessThanOrEqual(canary);
    },
  );
});

describe('determinism of the fleet workflows', () => {
  it('replays every run of the rollout and the children of the failing database with the current workflow code', async () => {
    const id = handle.workflowId;
    const runs: string[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${id}"` }))
      runs.push(run.runId);
    expect(runs.length).toBeGreaterThan(3); // continued as new on the way
    const histories = [
      ...runs.map((runId) => ({ workflowId: id, runId })),
      ...['deploy-1', 'deploy-2', 'rollback-3'].map((child) => ({
        workflowId: `${id}--${BROKEN}--${child}`,
        runId: undefined,
      })),
    ];
    for (const { workflowId, runId } of histories) {
      const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
      await Worker.runReplayHistory(
        {
          workflowBundle: await workflowBundle(),
          workflowFailureErrorTypes: WORKFLOW_FAILURE_ERROR_TYPES,
        },
        history,
        workflowId,
      );
    }
  });
});

describe('a database deploy started by hand', () => {
  it('is refused before any change: it was not started by a fleet rollout', async () => {
    const tenant = TENANTS[1];
    const child = await stack.client.workflow.start<typeof fleetDatabaseDeploy>(
      'fleetDatabaseDeploy',
      {
        taskQueue: stack.taskQueue,
        workflowId: `forged-${tenant}-${Date.now()}`,
        args: [
          {
            fleet: 'tenants',
            environment: tenant,
            plan: stack.plan,
            initiator: 'mallory',
            mode: 'deploy',
          },
        ],
      },
    );
    const failure = await child.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(
      String(((failure as WorkflowFailedError).cause?.cause as Error | undefined)?.message),
    ).toMatch(/not started by a fleet rollout/);
    expect(await versionsOf(stack.urls[tenant])).toEqual([1]);
  });
});

describe('a malformed start (by hand, e.g. `temporal workflow start`)', () => {
  const failureOf = async (workflowType: string, input: unknown) => {
    const handle = await stack.client.workflow.start(workflowType, {
      taskQueue: stack.taskQueue,
      workflowId: `malformed-${workflowType}-${Date.now()}`,
      args: [input],
    });
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    return (failure as WorkflowFailedError).cause as ApplicationFailure;
  };

  it('fails the rollout at once, naming every bad key, instead of retrying a broken task', async () => {
    const cause = await failureOf('fleetDeploy', {
      fleet: 'tenants',
      plan: { checksum: 'not-a-checksum', migrations: [] },
      options: { approvalExpiry: 'soon' },
    });
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/^invalid fleetDeploy input: /);
    expect(cause.message).toContain('plan.checksum: expected a sha256 hex checksum');
    expect(cause.message).toContain('initiator: ');
    expect(cause.message).toContain('options.approvalExpiry: invalid duration');
  });

  it('fails a database deploy the same way, before it reads or changes anything', async () => {
    const tenant = TENANTS[2];
    const cause = await failureOf('fleetDatabaseDeploy', {
      fleet: 'tenants',
      environment: tenant,
      plan: stack.plan,
      initiator: 'mallory',
      mode: 'sideways',
    });
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/^invalid fleetDatabaseDeploy input: mode: /);
    expect(await versionsOf(stack.urls[tenant])).toEqual([1]);
  });
});

export { fleetOverviewQuery };
