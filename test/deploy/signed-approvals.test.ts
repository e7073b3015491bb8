/**
 * Signed approvals on a real productionDeploy: the keys come from the worker's config (an
 * allowed-signers file), every decision is an SSH-signed statement bound to the run, the plan
 * and the role, and the activity that applies migrations verifies the approvals again.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { WorkflowHandle } from '@temporalio/client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { DecisionAction } from '../../src/approvals/statement';
import { newStatement, type StatementTarget } from '../../src/cli/signing';
import { readPlanForWorkflow } from '../../src/cli/plan-input';
import { parseConfig } from '../../src/config';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  approvalsQuery,
  approveSignal,
  cancelDeploySignal,
  reloadApprovalKeysSignal,
  submitApprovalUpdate,
  type ApprovalState,
} from '../../workflows/definitions';
import type { productionDeploy } from '../../workflows/production-deploy';
import { makeKey, sshKeygenSign, tempDir, type TestKey } from '../approvals/support/ssh-keys';
import { createTestDatabase, query } from '../support/databases';
import { temporalNamespace, signalWithTemporalCli } from '../support/temporal';
import { databaseState, waitFor, waitForApprovalGate, type DeployStack } from './deploy-stack';
import { useDeployStack } from '../support/deploy-fixture';

let stack: DeployStack;
let plan: MigrationPlan;
const keys: Record<string, TestKey> = {};
let signersFile: string;

/** The allowed-signers file; `without` leaves people out (revokes their keys). */
function writeSigners(without: string[] = []): void {
  const lines = ['alice', 'bob', 'carol', 'erin']
    .filter((name) => !without.includes(name))
    .map((name) => `${name} ${keys[name].publicLine}`);
  // carol also holds alice's old laptop key and erin's key (to test key-based rules).
  lines.push(`carol ${keys.alice.publicLine}`, `carol ${keys.erin.publicLine}`);
  writeFileSync(signersFile, `${lines.join('\n')}\n`);
}

beforeAll(() => {
  const dir = tempDir();
  for (const name of ['alice', 'bob', 'carol', 'erin', 'mallory']) keys[name] = makeKey(dir, name);
  signersFile = join(dir, 'allowed_signers');
});

beforeEach(() => writeSigners());

useDeployStack(
  () => ({
    approvals: {
      roster: {
        'engineering-lead': ['alice'],
        'product-owner': ['bob'],
        devops: ['carol', 'alice'],
      },
      expiry: '1h',
      reminderEvery: '1h',
      allowedSigners: signersFile,
      // production tier: requireSignatures defaults to true
    },
  }),
  (ready) => ({ stack, plan } = ready),
);

function target(workflowId: string, runId: string | null): StatementTarget {
  return {
    namespace: temporalNamespace(),
    environment: 'production',
    workflowId,
    runId,
    planChecksum: plan.checksum,
  };
}

/** A statement signed with `ssh-keygen -Y sign -n pgshift`. */
function sign(
  key: TestKey,
  at: StatementTarget,
  action: DecisionAction,
  person: string,
  options: { reason?: string; now?: number; validFor?: string } = {},
): { statement: string; signature: string } {
  const statement = newStatement(at, action, person, options.reason ?? '', {
    ...(options.now ? { now: options.now } : {}),
    ...(options.validFor ? { validFor: options.validFor } : {}),
  });
  return { statement, signature: sshKeygenSign(key, statement) };
}

/** Starts a deploy whose start is signed by erin (or unsigned with `signed: false`). */
async function startSigned(
  signed = true,
): Promise<WorkflowHandle<typeof productionDeploy> & { runId: string }> {
  const workflowId = `deploy-production-${plan.checksum.slice(0, 12)}-${randomBytes(3).toString('hex')}`;
  const start = signed ? sign(keys.erin, target(workflowId, null), 'initiate-deploy', 'erin') : {};
  const handle = await stack.client.workflow.start<typeof productionDeploy>('productionDeploy', {
    taskQueue: stack.taskQueue,
    workflowId,
    args: [{ environment: 'production', plan, initiator: 'erin', ...start, options: {} }],
  });
  return Object.assign(handle, { runId: handle.firstExecutionRunId });
}

function approval(
  handle: { workflowId: string; runId: string },
  role: string,
  person: string,
  key: TestKey = keys[person],
  at: Partial<StatementTarget> = {},
  action: DecisionAction = `approve:${role}`,
) {
  return {
    role,
    approver: person,
    ...sign(key, { ...target(handle.workflowId, handle.runId), ...at }, action, person),
  };
}

async function refusals(handle: WorkflowHandle, count: number): Promise<ApprovalState> {
  return waitFor(`${count} refused attempts`, async () => {
    const state = await handle.query(approvalsQuery);
    return state.refused.length >= count ? state : undefined;
  });
}

describe('signed approvals on a production deploy', () => {
  it('refuses and records unsigned, forged, misdirected, expired, replayed and same-key approvals', async () => {
    const handle = await startSigned();
    await waitForApprovalGate(handle);

    const sends: [string, unknown][] = [
      ['unsigned', { role: 'engineering-lead', approver: 'alice' }],
      ['wrong signature', approval(handle, 'engineering-lead', 'alice', keys.mallory)],
      [
        'another run',
        approval(handle, 'engineering-lead', 'alice', keys.alice, {
          runId: '0'.repeat(8) + '-0000-0000-0000-' + '0'.repeat(12),
        }),
      ],
      [
        'another plan',
        approval(handle, 'engineering-lead', 'alice', keys.alice, { planChecksum: 'f'.repeat(64) }),
      ],
      ['another role', { ...approval(handle, 'devops', 'alice'), role: 'engineering-lead' }],
      [
        'another environment',
        approval(handle, 'engineering-lead', 'alice', keys.alice, { environment: 'staging' }),
      ],
      [
        'expired',
        {
          role: 'engineering-lead',
          approver: 'alice',
          ...sign(
            keys.alice,
            target(handle.workflowId, handle.runId),
            'approve:engineering-lead',
            'alice',
            {
              now: Date.now() - 2 * 3_600_000,
              validFor: '1h',
            },
          ),
        },
      ],
      // carol's name with erin's key: the initiator's key may not approve
      ['initiator key', approval(handle, 'devops', 'carol', keys.erin)],
    ];
    for (const [, payload] of sends) await handle.signal(approveSignal, payload as never);
    let state = await refusals(handle, sends.length);
    expect(state.granted).toEqual([]);
    expect(state.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(
        /^unsigned approve:engineering-lead: this environment requires a signed statement/,
      ),
      expect.stringMatching(/key SHA256:\S+ is not in the allowed signers/),
      expect.stringMatching(
        /the statement is for run 00000000-0000-0000-0000-000000000000, but this is run /,
      ),
      expect.stringMatching(/the statement is for plan f{64}, but this is plan /),
      expect.stringMatching(
        /the statement is for action approve:devops, but this is action approve:engineering-lead/,
      ),
      expect.stringMatching(
        /the statement is for environment staging, but this is environment production/,
      ),
      expect.stringMatching(/the statement expired at /),
      expect.stringMatching(/the key that started this deploy: the initiator may not approve it/),
    ]);
    expect(state.refused[1].reason).toContain(keys.mallory.fingerprint);
    expect(state.refused[7].fingerprint).toBe(keys.erin.fingerprint);

    // A valid approval counts; the same statement again is a replay; alice's key under
    // carol's name may not approve a second role.
    const alice = approval(handle, 'engineering-lead', 'alice');
    const accepted = await handle.executeUpdate(submitApprovalUpdate, { args: [alice] });
    expect(accepted).toEqual({ accepted: true, missingRoles: ['product-owner', 'devops'] });
    const replay = await handle.executeUpdate(submitApprovalUpdate, { args: [alice] });
    expect(replay.reason).toMatch(/nonce \w+ was already used/);
    const sameKey = await handle.executeUpdate(submitApprovalUpdate, {
      args: [approval(handle, 'devops', 'carol', keys.alice)],
    });
    expect(sameKey.reason).toMatch(
      /already approved as "engineering-lead" \(alice\): each role needs a different person's key/,
    );
    state = await handle.query(approvalsQuery);
    expect(state.granted).toEqual([
      expect.objectContaining({
        role: 'engineering-lead',
        approver: 'alice',
        fingerprint: keys.alice.fingerprint,
      }),
    ]);

    // a signed cancel by erin ends it before any change; an unsigned one is refused first
    await handle.signal(cancelDeploySignal, { by: 'mallory', reason: 'no' });
    await handle.signal(cancelDeploySignal, {
      by: 'erin',
      reason: 'wrong plan',
      ...sign(keys.erin, target(handle.workflowId, handle.runId), 'cancel', 'erin', {
        reason: 'wrong plan',
      }),
    });
    const result = await handle.result();
    expect(result.finalState).toBe('rejected');
    expect(result.reason).toMatch(/cancelled by erin/);
    expect(
      result.approvals?.refused.find((r) => r.summary === 'cancel by mallory')?.reason,
    ).toMatch(/^unsigned cancel/);
    expect((await databaseState(stack.productionUrl)).versions).toEqual([]);
  });

  it('counts a signature made by ssh-keygen and sent by `temporal workflow signal`, stops counting a revoked key after a reload, and applies', async () => {
    const handle = await startSigned();
    await waitForApprovalGate(handle);
    await handle.signal(approveSignal, approval(handle, 'engineering-lead', 'alice'));
    await handle.signal(approveSignal, approval(handle, 'product-owner', 'bob'));
    await waitFor(
      'two approvals',
      async () => (await handle.query(approvalsQuery)).granted.length === 2,
    );

    // bob's key is removed from the file and the worker told to reload: his approval stops counting
    writeSigners(['bob']);
    await handle.signal(reloadApprovalKeysSignal);
    const revoked = await waitFor('bob revoked', async () => {
      const state = await handle.query(approvalsQuery);
      return state.missing.includes('product-owner') ? state : undefined;
    });
    expect(revoked.refused.at(-1)?.reason).toMatch(
      /^revoked: key \S+ of bob is no longer in the allowed signers/,
    );
    // his key back and reloaded: a new statement of his counts (once the reload has run)
    writeSigners();
    await handle.signal(reloadApprovalKeysSignal);
    await waitFor('bob approves again', async () => {
      const answer = await handle.executeUpdate(submitApprovalUpdate, {
        args: [approval(handle, 'product-owner', 'bob')],
      });
      return answer.accepted;
    });

    // carol signs with ssh-keygen on her own machine and sends it with the temporal CLI
    const statement = newStatement(
      target(handle.workflowId, handle.runId),
      'approve:devops',
      'carol',
      'reviewed',
    );
    const signature = sshKeygenSign(keys.carol, statement);
    await signalWithTemporalCli(handle.workflowId, {
      role: 'devops',
      approver: 'carol',
      statement,
      signature,
    });
    const result = await handle.result();
    expect(result.finalState).toBe('completed');
    expect(result.approvals?.granted.map((g) => [g.role, g.approver, g.fingerprint])).toEqual([
      ['engineering-lead', 'alice', keys.alice.fingerprint],
      ['product-owner', 'bob', keys.bob.fingerprint],
      ['devops', 'carol', keys.carol.fingerprint],
    ]);
    expect(result.approvals?.granted[2].comment).toBe('reviewed');

    // the same statement replayed into a second deploy of the same plan is refused
    await stack.useFreshProduction();
    const second = await startSigned();
    await waitForApprovalGate(second);
    await second.signal(approveSignal, { role: 'devops', approver: 'carol', statement, signature });
    const state = await refusals(second, 1);
    expect(state.refused[0].reason).toMatch(
      /the statement is for workflow \S+, but this is workflow /,
    );
    await second.terminate('test done');
  });

  it('refuses an unsigned start, and records why', async () => {
    const handle = await startSigned(false);
    await expect(handle.result()).rejects.toThrow();
    const state = await handle.query(approvalsQuery);
    expect(state.refused[0]).toMatchObject({ summary: 'start by erin' });
    expect(state.refused[0].reason).toMatch(
      /the start of this deploy by erin is refused: unsigned initiate-deploy/,
    );
  });
});

describe('the apply activity on a production tier', () => {
  it('refuses to apply migrations with a forged or missing approval set, or one missing a role the worker derives from the SQL, and changes nothing', async () => {
    const url = await createTestDatabase('signed_apply_activity');
    const activities = createActivities({
      config: parseConfig(
        {
          environments: {
            production: {
              approvals: {
                roster: {
                  'engineering-lead': ['alice'],
                  'product-owner': ['bob'],
                  devops: ['carol'],
                },
                allowedSigners: signersFile,
              },
            },
          },
        },
        null,
      ),
      env: { PRODUCTION_DATABASE_URL: url },
    });
    // MockActivityEnvironment's workflow: namespace "default", workflow id / run id of the mock
    const mock = new MockActivityEnvironment();
    const info = mock.context.info;
    const at = {
      workflowId: info.workflowExecution!.workflowId,
      runId: info.workflowExecution!.runId,
    };
    const forgedTarget: StatementTarget = {
      namespace: info.workflowNamespace ?? 'default',
      environment: 'production',
      workflowId: at.workflowId,
      runId: at.runId,
      planChecksum: plan.checksum,
    };
    const forged = (role: string, person: string) => ({
      role,
      approver: person,
      // mallory signs statements in everyone's name
      ...sign(keys.mallory, forgedTarget, `approve:${role}`, person),
    });
    const start = {
      person: 'erin',
      ...sign(keys.erin, { ...forgedTarget, runId: null }, 'initiate-deploy', 'erin'),
    };
    const apply = (authorization?: unknown) =>
      new MockActivityEnvironment().run(activities.applyMigrations, {
        environment: 'production',
        plan,
        ...(authorization ? { authorization: authorization as never } : {}),
      });
    await expect(apply()).rejects.toMatchObject({
      type: 'SignedApprovalsRefused',
      nonRetryable: true,
      message: expect.stringMatching(/no signed approvals were handed to the activity/),
    });
    await expect(
      apply({
        kind: 'deploy',
        start,
        approvals: [
          forged('engineering-lead', 'alice'),
          forged('product-owner', 'bob'),
          forged('devops', 'carol'),
        ],
      }),
    ).rejects.toMatchObject({
      type: 'SignedApprovalsRefused',
      message: expect.stringMatching(
        /role devops \(carol\): key \S+ is not in the allowed signers/,
      ),
    });
    // Genuine signatures for the three base roles do not authorise a plan the worker finds
    // high risk (the shipped migrations up to 012): the executive approval is missing.
    const highRisk = await readPlanForWorkflow(resolve(__dirname, '../../migrations'));
    const genuine = (role: string, person: string) => ({
      role,
      approver: person,
      ...sign(
        keys[person],
        { ...forgedTarget, planChecksum: highRisk.checksum },
        `approve:${role}`,
        person,
      ),
    });
    await expect(
      new MockActivityEnvironment().run(activities.applyMigrations, {
        environment: 'production',
        plan: highRisk,
        authorization: {
          kind: 'deploy' as const,
          start: {
            person: 'erin',
            ...sign(
              keys.erin,
              { ...forgedTarget, runId: null, planChecksum: highRisk.checksum },
              'initiate-deploy',
              'erin',
            ),
          },
          approvals: [
            genuine('engineering-lead', 'alice'),
            genuine('product-owner', 'bob'),
            genuine('devops', 'carol'),
          ],
        },
      }),
    ).rejects.toMatchObject({
      type: 'SignedApprovalsRefused',
      message: expect.stringMatching(/role executive: no approval/),
    });
    const tables = await query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    );
    expect(tables[0].n).toBe(0);
  });
});
