import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  approvalsQuery,
  approveSignal,
  cancelDeploySignal,
  progressQuery,
  submitApprovalUpdate,
  submitRejectionUpdate,
} from '../../workflows/definitions';
import { pgshiftProcessArgs } from '../support/temporal';
import {
  databaseState,
  FIXTURES,
  waitFor,
  waitForApprovalGate,
  type DeployStack,
} from './deploy-stack';
import { useDeployStack } from '../support/deploy-fixture';

let stack: DeployStack;
let plan: MigrationPlan;

useDeployStack(
  {
    approvals: {
      roster: {
        'engineering-lead': ['alice'],
        'product-owner': ['bob'],
        devops: ['carol', 'alice'],
        executive: ['dave'],
      },
      expiry: '1h',
      reminderEvery: '1s',
      // The unsigned rules (roster, roles, expiry); signatures: signed-approvals.test.ts.
      requireSignatures: false,
    },
  },
  (ready) => ({ stack, plan } = ready),
);

describe('production deploy approvals', () => {
  it('refuses and records approvals from unknown people and roles, twice by one person, by the initiator, for another plan, and malformed ones', async () => {
    const handle = await stack.startDeploy(plan, {}, 'carol');
    await waitForApprovalGate(handle);

    await handle.signal(approveSignal, { role: 'devops', approver: 'mallory' });
    const unknownRole = await handle.executeUpdate(submitApprovalUpdate, {
      args: [{ role: 'cfo', approver: 'alice' }],
    });
    expect(unknownRole).toMatchObject({ accepted: false });
    expect(unknownRole.reason).toMatch(/unknown role "cfo"/);
    expect(
      await handle.executeUpdate(submitApprovalUpdate, {
        args: [{ role: 'engineering-lead', approver: 'alice' }],
      }),
    ).toEqual({ accepted: true, missingRoles: ['product-owner', 'devops'] });
    await handle.signal(approveSignal, { role: 'devops', approver: 'alice' });
    const initiator = await handle.executeUpdate(submitApprovalUpdate, {
      args: [{ role: 'devops', approver: 'carol' }],
    });
    expect(initiator.reason).toMatch(/carol started this deploy and may not approve it/);
    await handle.signal(approveSignal, {
      role: 'product-owner',
      approver: 'bob',
      planChecksum: 'deadbeefdeadbeef',
    });
    await handle.signal(approveSignal, { role: 42, approver: ['bob'] } as never);
    await handle.signal(approveSignal, 'yes please' as never);

    const approvals = await waitFor('seven refused attempts', async () => {
      const state = await handle.query(approvalsQuery);
      return state.refused.length === 7 ? state : undefined;
    });
    expect(approvals.granted.map((g) => `${g.role}:${g.approver}`)).toEqual([
      'engineering-lead:alice',
    ]);
    expect(approvals.missing).toEqual(['product-owner', 'devops']);
    expect(approvals.refused.map((r) => r.summary)).toEqual([
      'devops by mallory',
      'cfo by alice',
      'devops by alice',
      'devops by carol',
      'product-owner by bob',
      'malformed payload {"role":42,"approver":["bob"]}',
      'malformed payload "yes please"',
    ]);
    expect(approvals.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/mallory is not on the roster of "devops"/),
      expect.stringMatching(/unknown role "cfo"/),
      expect.stringMatching(/alice already approved as "engineering-lead"/),
      expect.stringMatching(/carol started this deploy/),
      expect.stringMatching(/names plan deadbeefdead but this deploy applies plan/),
      expect.stringMatching(/malformed payload/),
      expect.stringMatching(/malformed payload/),
    ]);
    const progress = await handle.query(progressQuery);
    expect(progress.phase).toBe('awaiting-approval');
    expect(progress.currentDetails).toMatch(
      /missing \*\*product-owner\*\* \(bob\), \*\*devops\*\* \(carol, alice\)/,
    );

    // A rejection after some approvals ends the deploy with no change.
    expect(
      await handle.executeUpdate(submitRejectionUpdate, {
        args: [{ approver: 'bob', reason: 'freeze week' }],
      }),
    ).toMatchObject({ accepted: true });
    const result = await handle.result();
    expect(result.finalState).toBe('rejected');
    expect(result.reason).toBe('rejected by bob: freeze week');
    expect(result.backupId).toBeUndefined();
    expect(result.approvals?.refused).toHaveLength(7);
    expect(result.steps.filter((s) => s.status === 'completed').map((s) => s.name)).toEqual([
      'validate',
      'report',
    ]);
    const db = await databaseState(stack.productionUrl);
    expect(db).toEqual({ versions: [], tables: [], deployments: [] });
    expect(await stack.appVersion()).toBe('1.0.0');
  });

  it('refuses malformed approvals and rejections sent by update in their validator, leaving nothing in history', async () => {
    const handle = await stack.startDeploy(plan, {}, 'carol');
    await waitForApprovalGate(handle);
    const approval = handle.executeUpdate(submitApprovalUpdate, {
      args: [{ role: 42, approver: ['bob'] } as never],
    });
    await expect(approval).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    await expect(approval).rejects.toHaveProperty(
      'cause.message',
      expect.stringMatching(/^malformed approval refused: role: .*; approver: /),
    );
    const rejection = handle.executeUpdate(submitRejectionUpdate, {
      args: [{ approver: 'bob' } as never],
    });
    await expect(rejection).rejects.toHaveProperty(
      'cause.message',
      expect.stringMatching(/^malformed rejection refused: reason: /),
    );

    const { events } = await handle.fetchHistory();
    expect(
      (events ?? []).filter(
        (e) =>
          e.workflowExecutionUpdateAcceptedEventAttributes ||
          e.workflowExecutionUpdateAdmittedEventAttributes ||
          e.workflowExecutionUpdateCompletedEventAttributes,
      ),
    ).toEqual([]);
    expect((await handle.query(approvalsQuery)).refused).toEqual([]);
    await handle.signal(cancelDeploySignal, { by: 'carol', reason: 'test over' });
    expect((await handle.result()).finalState).toBe('rejected');
  });

  it('ends as approval-expired with no change, after reminding the approvers', async () => {
    const sent = stack.notifications.length;
    const handle = await stack.startDeploy(plan, { approvalExpiry: '3s', appVersion: '2.0.0' });
    await waitForApprovalGate(handle);
    await handle.signal(approveSignal, { role: 'engineering-lead', approver: 'alice' });

    const result = await handle.result();
    expect(result.finalState).toBe('approval-expired');
    expect(result.reason).toMatch(
      /approval window \(3s\) closed at .* with product-owner, devops missing; nothing was changed/,
    );
    const texts = stack.notifications.slice(sent).map((n) => JSON.parse(n.body).text as string);
    expect(
      texts.filter((t) => t.includes('Reminder: deploy to production waits for approvals')).length,
    ).toBeGreaterThanOrEqual(1);
    expect(texts.some((t) => t.includes('Deploy to production approval-expired'))).toBe(true);
    expect(await databaseState(stack.productionUrl)).toEqual({
      versions: [],
      tables: [],
      deployments: [],
    });
    expect(await stack.appVersion()).toBe('1.0.0');
  });

  it('ends as rejected with no change when cancelled by the cancelDeploy signal while waiting', async () => {
    const handle = await stack.startDeploy(plan);
    await waitForApprovalGate(handle);
    await handle.signal(cancelDeploySignal, { by: 'dave', reason: 'wrong release train' });
    const result = await handle.result();
    expect(result.finalState).toBe('rejected');
    expect(result.reason).toBe('cancelled by dave before any change: wrong release train');
    expect(await databaseState(stack.productionUrl)).toEqual({
      versions: [],
      tables: [],
      deployments: [],
    });
  });

  it('is driven from the command line: deploy, approve (accepted and refused), approvals, reject', async () => {
    const env = { ...process.env, PGSHIFT_TASK_QUEUE: stack.taskQueue, PGSHIFT_USER: 'erin' };
    const started = await pgshift(
      ['deploy', '--env', 'production', '--dir', join(FIXTURES, 'deploy-churn'), '--as', 'erin'],
      env,
    );
    expect(started.code).toBe(0);
    const workflowId = /Started production deploy (\S+)/.exec(started.stdout)?.[1];
    expect(workflowId).toBe(`deploy-production-${plan.checksum.slice(0, 12)}`);
    expect(started.stdout).toContain(`Plan checksum: ${plan.checksum}`);
    expect(started.stdout).toMatch(/Web UI: http/);
    expect(started.stdout).toContain('Required approvals');
    expect(started.stdout).toContain(
      `pgshift approve ${workflowId} --role product-owner --as <name> --plan ${plan.checksum.slice(0, 12)}`,
    );

    const refused = await pgshift(
      ['approve', workflowId!, '--role', 'devops', '--as', 'mallory'],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/approval REFUSED: mallory is not on the roster of "devops"/);

    const accepted = await pgshift(
      [
        'approve',
        workflowId!,
        '--role',
        'engineering-lead',
        '--as',
        'alice',
        '--plan',
        plan.checksum.slice(0, 12),
        '--comment',
        'reviewed',
      ],
      env,
    );
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain('approval accepted: engineering-lead by alice');
    expect(accepted.stdout).toContain(`Plan checksum: ${plan.checksum}`);
    expect(accepted.stdout).toContain('Still missing: product-owner, devops');

    const listed = await pgshift(['approvals', workflowId!], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/✓ engineering-lead by alice at .* — reviewed/);
    expect(listed.stdout).toMatch(/✗ devops by mallory at .*: mallory is not on the roster/);
    expect(listed.stdout).toContain('Missing: product-owner, devops');

    const rejected = await pgshift(
      ['reject', workflowId!, '--as', 'bob', '--reason', 'not this week'],
      env,
    );
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain('rejection accepted');

    const result = await stack.client.workflow.getHandle(workflowId!).result();
    expect(result.finalState).toBe('rejected');
    expect(await databaseState(stack.productionUrl)).toEqual({
      versions: [],
      tables: [],
      deployments: [],
    });
  });
});

describe('pgshift deploy --wait', () => {
  it('follows the deploy through its approvals to completion and exits 0', async () => {
    const env = { ...process.env, PGSHIFT_TASK_QUEUE: stack.taskQueue };
    const args = ['deploy', '--dir', join(FIXTURES, 'deploy-churn'), '--as', 'erin'];
    const waiting = pgshift(
      [...args, '--wait', '--app-version', '2.0.0', '--monitoring-window', '2s'],
      env,
    );
    const handle = stack.client.workflow.getHandle(
      `deploy-production-${plan.checksum.slice(0, 12)}`,
    );
    await waitFor('the deploy started by the CLI to wait for approvals', async () => {
      const state = await handle.query(approvalsQuery);
      return state.required.length > 0 && (await handle.describe()).status.name === 'RUNNING';
    });
    for (const approval of [
      { role: 'engineering-lead', approver: 'alice' },
      { role: 'product-owner', approver: 'bob' },
      { role: 'devops', approver: 'carol' },
    ])
      await handle.signal(approveSignal, approval);

    const { code, stdout } = await waiting;
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /✓ migrate: completed .* 3 migration\(s\) applied; production at version 3/,
    );
    expect(stdout).toMatch(/Deploy COMPLETED: production at version 3, application 2\.0\.0/);
    expect(stdout).toMatch(/Report: .*deploy-deploy-production-/);
    expect(await stack.appVersion()).toBe('2.0.0');
  });

  it('exits 1 with the reason when the deploy is refused (no rehearsal of this plan)', async () => {
    const env = { ...process.env, PGSHIFT_TASK_QUEUE: stack.taskQueue };
    const { code, stdout } = await pgshift(
      ['deploy', '--dir', join(FIXTURES, 'deploy-failing-migration'), '--as', 'erin', '--wait'],
      env,
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /Deploy REFUSED: deploy to production refused, nothing was changed: no passing rehearsal of plan [0-9a-f]{12} on staging/,
    );
    expect(await databaseState(stack.productionUrl)).toEqual({
      versions: [],
      tables: [],
      deployments: [],
    });
  });
});

function pgshift(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, argv] = pgshiftProcessArgs(args);
  return new Promise((resolve) => {
    execFile(command, argv, { env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({
        code: error ? (typeof error.code === 'number' ? error.code : 1) : 0,
        stdout,
        stderr,
      }),
    );
  });
}
