import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseActivities } from '../../activities/lease';
import { assertEnvironmentFree, EnvironmentBusyError } from '../../src/cli/environment-lock';
import {
  leaseHolderQuery,
  leaseLastReleaseQuery,
  leaseQueueQuery,
  leaseRequestSignal,
  leaseWorkflowId,
  type EnvironmentLeaseResult,
} from '../../workflows/lease/definitions';
import { closeTestEnv, startTestWorker, testEnv, type TestWorker } from '../support/temporal';
import { waitFor } from '../support/wait';
import { createLeaseFixtureActivities, type SectionEvent } from './fixtures/activities';
import type { LeaseHolderInput } from './fixtures/workflows';

const FIXTURE_WORKFLOWS = join(__dirname, 'fixtures/workflows.ts');

describe('the environment lease', () => {
  let worker: TestWorker;
  let client: Client;
  let events: SectionEvent[];
  let activities: object;
  const started: WorkflowHandle[] = [];

  beforeAll(async () => {
    client = (await testEnv()).client;
    const fixture = createLeaseFixtureActivities();
    events = fixture.events;
    activities = { ...createLeaseActivities({ client }), ...fixture.activities };
    worker = await startTestWorker(activities, { workflowsPath: FIXTURE_WORKFLOWS });
  });

  afterAll(async () => {
    for (const handle of started) await handle.terminate('test finished').catch(() => undefined);
    await worker?.stop();
    await closeTestEnv();
  });

  const newEnvironment = () => `lease-${randomBytes(4).toString('hex')}`;

  /** A fixture run started with the plain Temporal client (no pgshift CLI, no pre-check). */
  async function start(name: string, input: LeaseHolderInput): Promise<WorkflowHandle> {
    const handle = await client.workflow.start('changesEnvironment', {
      taskQueue: worker.taskQueue,
      workflowId: `${input.environment}-${name}`,
      args: [input],
    });
    started.push(handle);
    return handle;
  }

  /** Who starts each kind in these tests: alice deploys, bob rehearses, carol rolls back. */
  const INITIATORS = {
    productionDeploy: 'alice',
    stagingRehearsal: 'bob',
    emergencyRollback: 'carol',
  };
  const holder = (
    kind: keyof typeof INITIATORS,
    environment: string,
    extra: Partial<LeaseHolderInput> = {},
  ): LeaseHolderInput => ({ environment, kind, initiator: INITIATORS[kind], ...extra });

  const lease = (environment: string) => client.workflow.getHandle(leaseWorkflowId(environment));
  const entered = (handle: WorkflowHandle) =>
    waitFor(`${handle.workflowId} to enter`, async () =>
      events.find((e) => e.workflowId === handle.workflowId && e.event === 'enter'),
    );
  const queued = (environment: string, ...handles: WorkflowHandle[]) =>
    waitFor(`${handles.map((h) => h.workflowId).join(', ')} in the queue`, async () => {
      const queue = await lease(environment).query(leaseQueueQuery);
      return (
        queue.map((r) => r.workflowId).join(',') === handles.map((h) => h.workflowId).join(',')
      );
    });
  const leave = (handle: WorkflowHandle) => handle.signal('leave');
  const sectionOf = (handle: WorkflowHandle) => ({
    enter: events.find((e) => e.workflowId === handle.workflowId && e.event === 'enter')?.at,
    leave: events.find((e) => e.workflowId === handle.workflowId && e.event === 'leave')?.at,
  });
  async function failureOf(handle: WorkflowHandle): Promise<Error & { type?: string }> {
    const error = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    return (error as WorkflowFailedError).cause as Error & { type?: string };
  }

  it('lets a second workflow of another kind in only after the first released, whoever started it', async () => {
    const environment = newEnvironment();
    const options = { holderCheckInterval: '10m', idleTimeout: '2s' } as const;
    const deploy = await start(
      'deploy',
      holder('productionDeploy', environment, { lease: options }),
    );
    await entered(deploy);
    const rollback = await start(
      'rollback',
      holder('emergencyRollback', environment, { lease: options }),
    );
    await queued(environment, rollback);
    expect((await lease(environment).query(leaseHolderQuery))?.workflowId).toBe(deploy.workflowId);

    // The waiter says whom it waits for (its current details, as the Web UI shows them).
    const metadata = await waitFor('the waiting details', async () => {
      const m = await rollback.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      return m.currentDetails?.includes('Waiting') ? m : undefined;
    });
    expect(metadata.currentDetails).toMatch(
      new RegExp(
        `Waiting for the lease on ${environment}, held by productionDeploy ${deploy.workflowId} \\(alice\\) since `,
      ),
    );
    expect(sectionOf(rollback).enter).toBeUndefined();

    await leave(deploy);
    await deploy.result();
    await entered(rollback);
    await leave(rollback);
    await rollback.result();

    const first = sectionOf(deploy);
    const second = sectionOf(rollback);
    expect(second.enter!).toBeGreaterThanOrEqual(first.leave!);

    // Idle, the lease workflow ends itself, naming the last holder.
    const result = (await lease(environment).result()) as EnvironmentLeaseResult;
    expect(result.lastRelease).toMatchObject({
      how: 'released',
      holder: { workflowId: rollback.workflowId, kind: 'emergencyRollback', initiator: 'carol' },
    });
  });

  it('refuses a second workflow at once, naming the holder, when it asks not to wait', async () => {
    const environment = newEnvironment();
    const deploy = await start('deploy', holder('productionDeploy', environment));
    await entered(deploy);
    const rehearsal = await start(
      'rehearsal',
      holder('stagingRehearsal', environment, { wait: 'refuse' }),
    );
    const failure = await failureOf(rehearsal);
    expect(failure.type).toBe('EnvironmentBusy');
    expect(failure.message).toContain(
      `the lease on ${environment} is held by productionDeploy ${deploy.workflowId} (alice) since`,
    );
    expect(sectionOf(rehearsal).enter).toBeUndefined();
    expect(await lease(environment).query(leaseQueueQuery)).toEqual([]);
    await leave(deploy);
    await deploy.result();
  });

  it("gives the CLI's busy message from the lease's holder, and lets it through once released", async () => {
    const environment = newEnvironment();
    const deploy = await start('deploy', holder('productionDeploy', environment));
    await entered(deploy);
    const busy = await assertEnvironmentFree(client, environment).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(EnvironmentBusyError);
    expect((busy as Error).message).toContain(
      `${environment} is busy: its lease is held by productionDeploy ${deploy.workflowId} (alice) since`,
    );
    expect((busy as EnvironmentBusyError).running[0]).toMatchObject({
      workflowId: deploy.workflowId,
      kind: 'productionDeploy',
      initiator: 'alice',
    });
    await expect(
      assertEnvironmentFree(client, environment, { except: [deploy.workflowId] }),
    ).resolves.toBeUndefined();
    await leave(deploy);
    await deploy.result();
    await waitFor(
      'the lease to be free',
      async () => (await lease(environment).query(leaseHolderQuery)) === null,
    );
    await expect(assertEnvironmentFree(client, environment)).resolves.toBeUndefined();
  });

  it('fails a waiter whose timeout passes and takes it out of the queue', async () => {
    const environment = newEnvironment();
    const deploy = await start('deploy', holder('productionDeploy', environment));
    await entered(deploy);
    const impatient = await start(
      'impatient',
      holder('emergencyRollback', environment, { timeout: '2s' }),
    );
    const failure = await failureOf(impatient);
    expect(failure.type).toBe('EnvironmentBusy');
    expect(failure.message).toContain('was not granted within 2s');
    expect(failure.message).toContain(deploy.workflowId);
    await queued(environment);
    await leave(deploy);
    await deploy.result();
  });

  it('releases the lease of a holder terminated without releasing, and lets the waiter in', async () => {
    const environment = newEnvironment();
    const options = { holderCheckInterval: '1s' } as const;
    const deploy = await start(
      'deploy',
      holder('productionDeploy', environment, { lease: options }),
    );
    await entered(deploy);
    const rollback = await start(
      'rollback',
      holder('emergencyRollback', environment, { lease: options }),
    );
    await queued(environment, rollback);
    await deploy.terminate('operator pulled the plug');
    await entered(rollback);
    expect(await lease(environment).query(leaseLastReleaseQuery)).toMatchObject({
      how: 'TERMINATED',
      holder: { workflowId: deploy.workflowId },
    });
    expect((await lease(environment).query(leaseHolderQuery))?.workflowId).toBe(
      rollback.workflowId,
    );
    await leave(rollback);
    await rollback.result();
  });

  it('releases the lease of a holder whose run timed out', async () => {
    const environment = newEnvironment();
    const options = { holderCheckInterval: '1s' } as const;
    const deploy = await client.workflow.start('changesEnvironment', {
      taskQueue: worker.taskQueue,
      workflowId: `${environment}-deploy`,
      args: [
        { environment, kind: 'productionDeploy', initiator: 'alice', lease: options },
      ] satisfies [LeaseHolderInput],
      workflowRunTimeout: '4s',
    });
    started.push(deploy);
    await entered(deploy);
    const rollback = await start(
      'rollback',
      holder('emergencyRollback', environment, { lease: options }),
    );
    await entered(rollback);
    expect(await lease(environment).query(leaseLastReleaseQuery)).toMatchObject({
      how: 'TIMED_OUT',
      holder: { workflowId: deploy.workflowId },
    });
    await leave(rollback);
    await rollback.result();
  });

  it('releases the lease when its holder is cancelled, and when a waiter is cancelled it leaves the queue', async () => {
    const environment = newEnvironment();
    // No holder check before the test ends: the release must come from the cancelled holder.
    const options = { holderCheckInterval: '1h' } as const;
    const deploy = await start(
      'deploy',
      holder('productionDeploy', environment, { lease: options }),
    );
    await entered(deploy);
    const waiter = await start(
      'waiter',
      holder('stagingRehearsal', environment, { lease: options }),
    );
    await queued(environment, waiter);
    const rollback = await start(
      'rollback',
      holder('emergencyRollback', environment, { lease: options }),
    );
    await queued(environment, waiter, rollback);
    await waiter.cancel();
    expect((await failureOf(waiter)).name).toBe('CancelledFailure');
    await queued(environment, rollback);

    await deploy.cancel();
    expect((await failureOf(deploy)).name).toBe('CancelledFailure');
    await entered(rollback);
    expect(await lease(environment).query(leaseLastReleaseQuery)).toMatchObject({
      how: 'released',
      holder: { workflowId: deploy.workflowId },
    });
    expect(sectionOf(waiter).enter).toBeUndefined();
    await leave(rollback);
    await rollback.result();
  });

  it('keeps its holder and queue across a worker restart and across continue-as-new', async () => {
    const environment = newEnvironment();
    // A check every second and a tiny history limit: the lease continues-as-new many times.
    const options = { holderCheckInterval: '1s', maxHistoryEvents: 30 } as const;
    const deploy = await start(
      'deploy',
      holder('productionDeploy', environment, { lease: options }),
    );
    await entered(deploy);
    const rollback = await start(
      'rollback',
      holder('emergencyRollback', environment, { lease: options }),
    );
    // Requests race to the lease: start the second once the first is in line.
    await queued(environment, rollback);
    const rehearsal = await start(
      'rehearsal',
      holder('stagingRehearsal', environment, { lease: options }),
    );
    await queued(environment, rollback, rehearsal);

    await worker.stop({ keepLeases: true });
    worker = await startTestWorker(activities, {
      workflowsPath: FIXTURE_WORKFLOWS,
      taskQueue: worker.taskQueue,
    });
    await queued(environment, rollback, rehearsal);
    expect((await lease(environment).query(leaseHolderQuery))?.workflowId).toBe(deploy.workflowId);
    const runs = await waitFor('the lease to continue as new', async () => {
      const found: string[] = [];
      for await (const run of client.workflow.list({
        query: `WorkflowId = "${leaseWorkflowId(environment)}"`,
      }))
        found.push(run.runId);
      return found.length > 1 ? found : undefined;
    });
    expect(runs.length).toBeGreaterThan(1);

    await leave(deploy);
    await entered(rollback);
    await leave(rollback);
    await entered(rehearsal);
    await leave(rehearsal);
    await Promise.all([deploy.result(), rollback.result(), rehearsal.result()]);
    const sections = [deploy, rollback, rehearsal].map(sectionOf);
    expect(sections[1].enter!).toBeGreaterThanOrEqual(sections[0].leave!);
    expect(sections[2].enter!).toBeGreaterThanOrEqual(sections[1].leave!);
  });

  it("runs in pgshift's own worker, and skips a requester that is gone before its grant", async () => {
    const environment = newEnvironment();
    // The project's workflows module (workflows/index), as `pgshift worker` bundles it.
    const own = await startTestWorker(createLeaseActivities({ client }));
    try {
      const handle = await client.workflow.signalWithStart('environmentLease', {
        taskQueue: own.taskQueue,
        workflowId: leaseWorkflowId(environment),
        args: [{ environment, idleTimeout: '1s' }],
        signal: leaseRequestSignal,
        signalArgs: [
          {
            requestId: 'r-1',
            workflowId: `${environment}-never-started`,
            runId: '00000000-0000-4000-8000-000000000000',
            kind: 'productionDeploy',
            initiator: 'dave',
            purpose: 'a run that does not exist',
            wait: 'wait',
            requestedAt: new Date().toISOString(),
          },
        ],
      });
      const result = (await handle.result()) as EnvironmentLeaseResult;
      expect(result.lastRelease).toMatchObject({
        how: 'gone before the grant',
        holder: { workflowId: `${environment}-never-started` },
      });
    } finally {
      await own.stop();
    }
  });
});
