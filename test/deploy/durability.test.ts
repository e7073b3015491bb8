import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { MigrationPlan } from '../../src/migrations/types';
import { approveSignal, submitApprovalUpdate } from '../../workflows/definitions';
import { pgshiftProcessArgs } from '../support/temporal';
import {
  APPROVALS,
  approveAll,
  databaseState,
  waitForApprovalGate,
  waitForPhase,
  type DeployStack,
} from './deploy-stack';
import { useDeployStack } from '../support/deploy-fixture';

const repoRoot = join(__dirname, '..', '..');

let stack: DeployStack;
let plan: MigrationPlan;

useDeployStack({}, (ready) => ({ stack, plan } = ready));

/** A `pgshift worker` process on the stack's task queue, resolved once it polls. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const [command, args] = pgshiftProcessArgs(['worker', '--config', stack.configFile]);
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...stack.env, PGSHIFT_TASK_QUEUE: stack.taskQueue, PGSHIFT_LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`polling task queue "${stack.taskQueue}"`)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`pgshift worker exited (${code}):\n${output}`)));
  });
  return child;
}

describe('production deploy durability', () => {
  it('finishes on a new worker after its worker process is killed while waiting for approvals', async () => {
    await stack.stopWorker();
    const child = await startWorkerProcess();
    let handle;
    try {
      handle = await stack.startDeploy(plan, { appVersion: '2.0.0' });
      await waitForApprovalGate(handle);
      expect(
        await handle.executeUpdate(submitApprovalUpdate, { args: [APPROVALS[0]] }),
      ).toMatchObject({ accepted: true });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    // Signals sent while no worker runs are kept by the server.
    await handle.signal(approveSignal, APPROVALS[1]);
    await handle.signal(approveSignal, APPROVALS[2]);
    await stack.startWorker();

    const result = await handle.result();
    expect(result.finalState).toBe('completed');
    expect(result.approvals?.granted.map((g) => g.approver)).toEqual(['alice', 'bob', 'carol']);
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1, 2, 3]);
    expect(await stack.appVersion()).toBe('2.0.0');
  });

  it('finishes when its worker is replaced during the monitoring window', async () => {
    const handle = await stack.startDeploy(plan, {
      monitoringWindow: '5s',
      monitoringInterval: '1s',
    });
    await waitForApprovalGate(handle);
    await approveAll(handle);
    await waitForPhase(handle, 'monitor');
    await stack.restartWorker();

    const result = await handle.result();
    expect(result.finalState).toBe('completed');
    expect(result.steps.find((s) => s.name === 'monitor')?.status).toBe('completed');
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1, 2, 3]);
  });

  it('undoes its changes when the workflow is cancelled after migrating, even though it is cancelled', async () => {
    const handle = await stack.startDeploy(plan, {
      appVersion: '2.0.0',
      monitoringWindow: '60s',
      monitoringInterval: '1s',
    });
    await waitForApprovalGate(handle);
    await approveAll(handle);
    await waitForPhase(handle, 'monitor');
    await handle.cancel();

    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([]);
    expect(db.tables).toEqual([]);
    expect(db.deployments).toEqual([
      expect.objectContaining({ workflow_id: handle.workflowId, status: 'rolled-back' }),
    ]);
    expect(await stack.appVersion()).toBe('1.0.0');
  });
});
