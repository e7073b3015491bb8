import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import {
  actsOnEnvironment,
  EnvironmentBusyError,
  listActiveWorkflows,
  startWithEnvironmentLock,
} from '../../src/cli/environment-lock';
import {
  PgshiftEnvironment,
  PgshiftPhase,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  approvalsQuery,
  approveRollbackSignal,
  environmentLockId,
  submitRollbackApprovalUpdate,
  type EmergencyRollbackResult,
} from '../../workflows/definitions';
import { fileChecksum, planChecksum } from '../../src/migrations/files';
import { query } from '../support/databases';
import { closeTestEnv, uniqueTaskQueue } from '../support/temporal';
import {
  createRollbackStack,
  loadPlan,
  progressOf,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from './rollback-stack';

let plan: MigrationPlan;
let stack: RollbackStack | undefined;
const stray: WorkflowHandle[] = [];

beforeAll(async () => {
  plan = await loadPlan(SHIPPED_MIGRATIONS);
});
afterEach(async () => {
  for (const handle of stray.splice(0)) await handle.terminate('test over').catch(() => undefined);
  await stack?.stop();
  stack = undefined;
});
afterAll(async () => {
  await closeTestEnv();
});

/** Production after a deploy of 9-12, with a customer whose `segment` a rollback to 8 would drop. */
async function productionWithData(): Promise<RollbackStack> {
  stack = await createRollbackStack();
  await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
  await query(
    stack.databaseUrl,
    `INSERT INTO customers (external_id, email, region, segment) VALUES ('cus_1', 'a@example.com', 'DE', 'enterprise')`,
  );
  return stack;
}

async function waitForApprovalStep(handle: WorkflowHandle): Promise<void> {
  await expect
    .poll(
      async () => (await progressOf(handle))?.steps.find((s) => s.name === 'approval')?.status,
      {
        timeout: 30_000,
        interval: 200,
      },
    )
    .toBe('running');
}

describe('a data-losing rollback in production', () => {
  it('waits for one approval by signal, refusing the initiator and people not on the list', async () => {
    const stack = await productionWithData();
    const handle = await stack.start({
      mode: 'migration',
      migrationTarget: 8,
      plan,
      initiator: 'alice',
    });
    await waitForApprovalStep(handle);
    expect(await stack.ledgerVersion()).toBe(12);

    const own = await handle.executeUpdate(submitRollbackApprovalUpdate, {
      args: [{ approver: 'alice' }],
    });
    expect(own).toMatchObject({
      accepted: false,
      reason: expect.stringMatching(/alice started this/),
    });
    await handle.signal(approveRollbackSignal, { approver: 'mallory' });
    await expect
      .poll(async () => (await handle.query(approvalsQuery)).refused.length, { timeout: 10_000 })
      .toBe(2);
    expect(await stack.ledgerVersion()).toBe(12);

    await handle.signal(approveRollbackSignal, {
      approver: 'carol',
      comment: 'checkout is down, go',
    });
    const result = (await handle.result()) as EmergencyRollbackResult;

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.columns('customers')).not.toContain('segment');
    expect(result.approvalRequired).toBe(true);
    expect(result.approval).toMatchObject({
      granted: [{ role: 'emergency-approver', approver: 'carol', comment: 'checkout is down, go' }],
      refused: [
        expect.objectContaining({ approver: 'alice' }),
        expect.objectContaining({
          approver: 'mallory',
          reason: expect.stringMatching(/not on the roster/),
        }),
      ],
    });
    expect(result.incidentMarkdown).toMatch(/✅ approved by carol/);
    expect(result.incidentMarkdown).toMatch(
      /⚠️ customers\.segment \(column dropped by 009_rollback\.sql:\d+; 1 non-null value\)/,
    );
    expect(result.incidentMarkdown).toContain('waiting for approval');
    expect(stack.notificationTitles().some((t) => /Approval needed/.test(t))).toBe(true);
  });

  it('is refused, with nothing changed, when no approval comes in time', async () => {
    const stack = await productionWithData();
    const result = await stack.run({
      mode: 'migration',
      migrationTarget: 8,
      plan,
      options: { approvalTimeout: '1s' },
    });

    expect(result.finalState).toBe('refused');
    expect(result.reason).toMatch(
      /no approval of the data-losing rollback before .*nothing was changed/,
    );
    expect(await stack.ledgerVersion()).toBe(12);
    expect(result.steps.find((s) => s.name === 'emergency backup')).toMatchObject({
      status: 'skipped',
    });
    expect(result.postMortemDue).toBeUndefined();
  });

  it('goes ahead at once with break-glass, recording and notifying it', async () => {
    const stack = await productionWithData();
    const result = await stack.run({
      mode: 'full-emergency',
      plan,
      breakGlass: { reason: 'checkout down for every customer' },
    });

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(result.breakGlass).toEqual({ reason: 'checkout down for every customer', by: 'erin' });
    expect(result.approval).toMatchObject({ granted: [] });
    expect(result.steps.find((s) => s.name === 'approval')).toMatchObject({
      status: 'completed',
      detail: 'break-glass by erin: checkout down for every customer',
    });
    expect(result.incidentMarkdown).toContain(
      '🔓 **Break-glass** by erin: checkout down for every customer (the data-loss approval was skipped)',
    );
    expect(stack.notificationTitles()).toContain(
      `:rotating_light: Break-glass emergency rollback on ${stack.environment}`,
    );
  });
});

/** The plan with the rollback file of `version` edited after it was applied. */
function withEditedRollback(plan: MigrationPlan, version: number): MigrationPlan {
  const copy = structuredClone(plan);
  const rollback = copy.migrations.find((m) => m.version === version)!.rollback;
  rollback.sql += '\n-- edited after the migration was applied\n';
  rollback.checksum = fileChecksum(Buffer.from(rollback.sql, 'utf8'));
  copy.checksum = planChecksum(copy.migrations);
  return copy;
}

describe('a rollback file changed since its migration was applied', () => {
  it('is refused without --accept-changed-rollback, changing nothing', async () => {
    const stack = await productionWithData();
    const result = await stack.run({
      mode: 'migration',
      migrationTarget: 11,
      plan: withEditedRollback(plan, 12),
      breakGlass: { reason: 'test: no approval wait' },
    });
    expect(result.finalState).toBe('failed');
    expect(result.incidentMarkdown).toMatch(/012_rollback\.sql \(recorded/);
    expect(await stack.ledgerVersion()).toBe(12);
  });

  it('runs with the recorded acceptance once the rollback approval is given in production', async () => {
    const stack = await productionWithData();
    const handle = await stack.start({
      mode: 'migration',
      migrationTarget: 11,
      plan: withEditedRollback(plan, 12),
      acceptChangedRollback: { reason: 'the DBA fixed the DROP after review' },
    });
    await waitForApprovalStep(handle);
    expect(await stack.ledgerVersion()).toBe(12);
    await handle.signal(approveRollbackSignal, { approver: 'carol' });
    const result = (await handle.result()) as EmergencyRollbackResult;
    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(11);
    expect(result.approvalRequired).toBe(true);
    expect(result.incidentMarkdown).toContain(
      'erin accepts rollback files changed since applied: the DBA fixed the DROP after review',
    );
    expect(
      await query(stack.databaseUrl, 'SELECT file, repaired_by, reason FROM pgshift.repairs'),
    ).toEqual([
      {
        file: '012_rollback.sql',
        repaired_by: 'erin',
        reason: 'accepted changed rollback file: the DBA fixed the DROP after review',
      },
    ]);
  });
});

describe('one rollback or deploy per environment', () => {
  it('refuses a second rollback while one runs, naming the running one', async () => {
    const stack = await productionWithData();
    const first = await stack.start({ mode: 'migration', migrationTarget: 8, plan });
    stray.push(first);
    await waitForApprovalStep(first);

    // The first holds the environment lease while it waits for its approval: the CLI names it.
    const second = stack.start({ mode: 'application' });
    await expect(second).rejects.toBeInstanceOf(EnvironmentBusyError);
    await expect(second).rejects.toThrow(
      new RegExp(
        `${stack.environment} is busy: its lease is held by emergencyRollback ${environmentLockId(stack.environment)} \\(erin\\)`,
      ),
    );
    // --status-only changes nothing and still works during the rollback
    const status = await stack.run({ mode: 'status-only' });
    expect(status).toMatchObject({ finalState: 'completed', type: 'status-only' });

    await first.signal(approveRollbackSignal, { approver: 'carol' });
    expect(((await first.result()) as EmergencyRollbackResult).finalState).toBe('completed');
    // once it has ended, the next one may start
    const next = await stack.run({ mode: 'application' });
    expect(next.finalState).toBe('completed');
  });

  it('refuses a rollback while a production deploy acts on the environment, but not one waiting for approvals', async () => {
    stack = await createRollbackStack();
    const client = stack.client;
    const idle = uniqueTaskQueue('no-worker'); // nobody polls it: the deploy stays Running
    const deploy = await client.workflow.start('productionDeploy', {
      taskQueue: idle,
      workflowId: `deploy-${stack.environment}-running`,
      args: [{}],
      typedSearchAttributes: [
        { key: PgshiftEnvironment, value: stack.environment },
        { key: PgshiftWorkflowKind, value: 'productionDeploy' },
        { key: PgshiftPhase, value: 'migrate' },
      ],
    });
    stray.push(deploy);
    await expect
      .poll(async () => (await listActiveWorkflows(client, stack!.environment)).length, {
        timeout: 30_000,
      })
      .toBe(1);
    await expect(stack.start({ mode: 'application' })).rejects.toThrow(
      new RegExp(`busy: productionDeploy deploy-${stack.environment}-running \\(phase migrate`),
    );
    await deploy.terminate('test over');

    const waiting = await client.workflow.start('productionDeploy', {
      taskQueue: idle,
      workflowId: `deploy-${stack.environment}-waiting`,
      args: [{}],
      typedSearchAttributes: [
        { key: PgshiftEnvironment, value: stack.environment },
        { key: PgshiftWorkflowKind, value: 'productionDeploy' },
        { key: PgshiftPhase, value: 'awaiting-approvals' },
      ],
    });
    stray.push(waiting);
    await expect
      .poll(
        async () =>
          (await listActiveWorkflows(client, stack!.environment)).map((w) => w.workflowId),
        { timeout: 30_000 },
      )
      .toEqual([`deploy-${stack.environment}-waiting`]);
    process.env.PGSHIFT_TASK_QUEUE = stack.worker.taskQueue;
    const { handle } = await startWithEnvironmentLock(client, {
      kind: 'emergencyRollback',
      input: { environment: stack.environment, initiator: 'erin', mode: 'status-only' },
      environment: stack.environment,
      initiator: 'erin',
      summary: 'status while a deploy waits for approvals',
      details: '',
    });
    expect(((await handle.result()) as EmergencyRollbackResult).finalState).toBe('completed');
  });
});

describe('what counts as acting on an environment', () => {
  const running = (kind: string, phase?: string) => ({
    workflowId: 'w',
    runId: 'r',
    kind,
    ...(phase ? { phase } : {}),
    startTime: '2026-11-25T00:00:00.000Z',
  });

  it('counts rollbacks and deploys, but neither a deploy awaiting approvals nor the archive of a kept database', () => {
    expect(actsOnEnvironment(running('emergencyRollback', 'restore backup'))).toBe(true);
    expect(actsOnEnvironment(running('productionDeploy', 'migrate'))).toBe(true);
    expect(actsOnEnvironment(running('productionDeploy', 'waiting for approvals'))).toBe(false);
    expect(actsOnEnvironment(running('archivePreservedDatabase', 'archive'))).toBe(false);
  });
});
