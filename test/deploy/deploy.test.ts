import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { planChecksum } from '../../src/migrations/files';
import type { MigrationPlan } from '../../src/migrations/types';
import { approvalsQuery, approveSignal, submitApprovalUpdate } from '../../workflows/definitions';
import { signalWithTemporalCli } from '../support/temporal';
import { approveAll, databaseState, waitForApprovalGate, type DeployStack } from './deploy-stack';
import { useDeployStack } from '../support/deploy-fixture';

let stack: DeployStack;
let plan: MigrationPlan;

useDeployStack({}, (ready) => ({ stack, plan } = ready), { certify: false });

describe('production deploy', () => {
  it('completes a deploy approved by signals, one of them sent with the temporal CLI', async () => {
    await stack.certify(plan);
    const handle = await stack.startDeploy(plan, { appVersion: '2.0.0' });

    const gate = await waitForApprovalGate(handle);
    expect(gate.required).toEqual(['engineering-lead', 'product-owner', 'devops']);
    await handle.signal(approveSignal, { role: 'engineering-lead', approver: 'alice' });
    await handle.signal(approveSignal, {
      role: 'product-owner',
      approver: 'bob',
      planChecksum: plan.checksum.slice(0, 12),
    });
    await signalWithTemporalCli(handle.workflowId, {
      role: 'devops',
      approver: 'carol',
      comment: 'sent with the temporal CLI',
    });

    const result = await handle.result();
    expect(result.finalState).toBe('completed');
    expect(result.fromVersion).toBe(0);
    expect(result.toVersion).toBe(3);
    expect(result.appVersionBefore).toBe('1.0.0');
    expect(result.appVersionAfter).toBe('2.0.0');
    expect(result.approvals?.granted.map((g) => `${g.role}:${g.approver}`)).toEqual([
      'engineering-lead:alice',
      'product-owner:bob',
      'devops:carol',
    ]);
    expect(result.approvals?.granted[2].comment).toBe('sent with the temporal CLI');
    expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'validate:completed',
      'approvals:completed',
      'backup:completed',
      'baseline:completed',
      'deploy application:completed',
      'migrate:completed',
      'verify:completed',
      'monitor:completed',
      'report:completed',
    ]);

    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([1, 2, 3]);
    expect(db.tables).toEqual(['events', 'recovery_cases']);
    expect(db.deployments).toEqual([
      expect.objectContaining({
        workflow_id: handle.workflowId,
        kind: 'deploy',
        status: 'completed',
        from_version: 0,
        to_version: 3,
        backup_id: result.backupId,
        app_version_before: '1.0.0',
        app_version_after: '2.0.0',
      }),
    ]);
    expect(await stack.appVersion()).toBe('2.0.0');
    const titles = stack.notifications.map((n) => JSON.parse(n.body).text as string);
    expect(titles.some((t) => t.includes('Approval needed: deploy to production'))).toBe(true);
    expect(titles.some((t) => t.includes('Deploy to production completed'))).toBe(true);
  });

  it('refuses a plan without a passing staging rehearsal, changing nothing', async () => {
    const handle = await stack.startDeploy(firstTwo(plan));
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause as { type?: string; message: string };
    expect(cause.type).toBe('RehearsalRequired');
    expect(cause.message).toMatch(/no passing rehearsal of plan [0-9a-f]{12} on staging/);
    expect(cause.message).toMatch(/--waive-rehearsal/);
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([]);
    expect(db.tables).toEqual([]);
  });

  it('deploys without a rehearsal when it is waived, recording and notifying the waiver', async () => {
    const handle = await stack.startDeploy(firstTwo(plan), {
      waiveRehearsal: { reason: 'hotfix for incident 42' },
      highRisk: true,
    });
    const gate = await waitForApprovalGate(handle);
    expect(gate.required).toEqual(['engineering-lead', 'product-owner', 'devops', 'executive']);
    for (const approval of [
      { role: 'engineering-lead', approver: 'alice' },
      { role: 'product-owner', approver: 'bob' },
      { role: 'devops', approver: 'carol' },
    ])
      expect(await handle.executeUpdate(submitApprovalUpdate, { args: [approval] })).toMatchObject({
        accepted: true,
      });
    expect((await handle.query(approvalsQuery)).missing).toEqual(['executive']);
    await approveAll(handle, [{ role: 'executive', approver: 'dave' }]);

    const result = await handle.result();
    expect(result.finalState).toBe('completed');
    expect(result.rehearsalWaiver).toEqual({ reason: 'hotfix for incident 42', by: 'erin' });
    expect(result.highRisk).toBe(true);
    const texts = stack.notifications.map((n) => JSON.parse(n.body).text as string);
    expect(
      texts.some((t) => t.includes('Rehearsal WAIVED') && t.includes('hotfix for incident 42')),
    ).toBe(true);
    expect((await databaseState(stack.productionUrl)).versions).toEqual([1, 2]);
  });
});

/** The first two migrations of a plan: another plan (another checksum), never rehearsed. */
function firstTwo(full: MigrationPlan): MigrationPlan {
  const migrations = full.migrations.slice(0, 2);
  return { ...full, migrations, checksum: planChecksum(migrations) };
}
