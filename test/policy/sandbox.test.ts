import { homedir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalsQuery,
  approveSignal,
  progressQuery,
  rejectSignal,
  submitApprovalUpdate,
} from '../../workflows/definitions';
import type { approvalGate } from './fixtures/approval-gate-workflow';

const PLAN = 'f'.repeat(64);
const temporalBin = process.env.TEMPORAL_CLI ?? join(homedir(), '.cache/pgshift/bin/temporal');

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/approval-gate-workflow.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  env = await TestWorkflowEnvironment.createLocal(
    existsSync(temporalBin)
      ? { server: { executable: { type: 'existing-path', path: temporalBin } } }
      : undefined,
  );
});

afterAll(async () => {
  await env?.teardown();
});

async function withWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
  });
  return worker.runUntil(fn());
}

const input = {
  initiator: 'erin',
  planChecksum: PLAN,
  roster: { 'engineering-lead': ['alice'], 'product-owner': ['bob'], devops: ['carol'] },
  requiredRoles: ['engineering-lead', 'product-owner', 'devops'],
  expiryMs: 3_600_000,
};

describe('shared definitions inside the workflow sandbox', () => {
  it('validates approvals sent by signal and update with the same policy, and answers queries', async () => {
    const taskQueue = `sandbox-${Date.now()}`;
    await withWorker(taskQueue, async () => {
      const handle = await env.client.workflow.start<typeof approvalGate>('approvalGate', {
        args: [input],
        taskQueue,
        workflowId: `approval-gate-${Date.now()}`,
      });
      await handle.signal(approveSignal, { role: 'engineering-lead', approver: 'alice' });
      await handle.signal(approveSignal, { role: 'devops', approver: 'mallory' });
      await handle.signal(approveSignal, { bogus: true } as never);
      const refused = await handle.executeUpdate(submitApprovalUpdate, {
        args: [{ role: 'product-owner', approver: 'alice' }],
      });
      expect(refused).toMatchObject({ accepted: false });
      expect(refused.reason).toMatch(/not on the roster/);
      const accepted = await handle.executeUpdate(submitApprovalUpdate, {
        args: [{ role: 'product-owner', approver: 'bob', planChecksum: PLAN.slice(0, 8) }],
      });
      expect(accepted).toEqual({ accepted: true, missingRoles: ['devops'] });

      const approvals = await handle.query(approvalsQuery);
      expect(approvals.missing).toEqual(['devops']);
      expect(approvals.refused.map((r) => r.summary)).toEqual([
        'devops by mallory',
        'malformed payload {"bogus":true}',
        'product-owner by alice',
      ]);
      expect((await handle.query(progressQuery)).currentDetails).toBe('missing: devops');

      await handle.signal(approveSignal, { role: 'devops', approver: 'carol' });
      const result = await handle.result();
      expect(result.outcome).toBe('approved');
      expect(result.approvals.granted.map((g) => g.approver)).toEqual(['alice', 'bob', 'carol']);
    });
  });

  it('ends on a rejection', async () => {
    const taskQueue = `sandbox-reject-${Date.now()}`;
    await withWorker(taskQueue, async () => {
      const handle = await env.client.workflow.start<typeof approvalGate>('approvalGate', {
        args: [input],
        taskQueue,
        workflowId: `approval-gate-reject-${Date.now()}`,
      });
      await handle.signal(rejectSignal, { approver: 'bob', reason: 'freeze week' });
      const result = await handle.result();
      expect(result.outcome).toBe('rejected');
      expect(result.approvals.rejected).toMatchObject({ approver: 'bob', reason: 'freeze week' });
    });
  });
});
