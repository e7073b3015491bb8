import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigner } from '../../src/approvals/allowed-signers';
import { parseStatement } from '../../src/approvals/statement';
import { PgshiftEnvironment, PgshiftPlanChecksum } from '../../src/temporal/search-attribute-keys';
import { approvalsQuery } from '../../workflows/definitions';
import type { approvalGate } from '../policy/fixtures/approval-gate-workflow';
import { makeKey, sshKeygenSign, tempDir, type TestKey } from '../approvals/support/ssh-keys';
import {
  closeTestEnv,
  startTestWorker,
  temporalNamespace,
  type TestWorker,
  signalWithTemporalCli,
} from '../support/temporal';
import { runCli, waitUntil } from './run-cli';

const PLAN = randomBytes(32).toString('hex');
let worker: TestWorker;
const keys: Record<string, TestKey> = {};
let signers: AllowedSigner[];

beforeAll(async () => {
  const dir = tempDir();
  for (const name of ['alice', 'bob', 'carol']) keys[name] = makeKey(dir, name);
  signers = parseAllowedSigners(
    Object.entries(keys)
      .map(([name, key]) => `${name} ${key.publicLine}`)
      .join('\n'),
    join(dir, 'allowed_signers'),
  ).signers;
  worker = await startTestWorker(
    {},
    { workflowsPath: require.resolve('../policy/fixtures/approval-gate-workflow.ts') },
  );
});

afterAll(async () => {
  await worker?.stop();
  await closeTestEnv();
});

async function startGate() {
  const workflowId = `deploy-production-${randomBytes(6).toString('hex')}`;
  const handle = await worker.env.client.workflow.start<typeof approvalGate>('approvalGate', {
    args: [
      {
        initiator: 'erin',
        planChecksum: PLAN,
        roster: { 'engineering-lead': ['alice'], 'product-owner': ['bob'], devops: ['carol'] },
        requiredRoles: ['engineering-lead', 'product-owner', 'devops'],
        expiryMs: 3_600_000,
        signatures: { required: true, allowedSigners: signers, environment: 'production' },
      },
    ],
    taskQueue: worker.taskQueue,
    workflowId,
    typedSearchAttributes: [
      { key: PgshiftEnvironment, value: 'production' },
      { key: PgshiftPlanChecksum, value: PLAN },
    ],
  });
  return { workflowId, handle };
}

describe('signed approvals through the CLI and the temporal CLI', () => {
  it('--print-statement, ssh-keygen -Y sign and temporal workflow signal: the approval counts; replayed into another run it does not', async () => {
    const { workflowId, handle } = await startGate();
    const printed = await runCli([
      'approve',
      workflowId,
      '--role',
      'devops',
      '--as',
      'carol',
      '--print-statement',
    ]);
    expect(printed.code).toBe(0);
    const statement = parseStatement(printed.stdout);
    expect(statement).toMatchObject({
      namespace: temporalNamespace(),
      environment: 'production',
      workflowId,
      runId: handle.firstExecutionRunId,
      planChecksum: PLAN,
      action: 'approve:devops',
      person: 'carol',
    });
    const signature = sshKeygenSign(keys.carol, printed.stdout);
    const payload = { role: 'devops', approver: 'carol', statement: printed.stdout, signature };
    await signalWithTemporalCli(workflowId, payload);
    const approvals = await waitUntil(async () => {
      const state = await handle.query(approvalsQuery);
      return state.granted.length ? state : undefined;
    }, 'the signed approval to count');
    expect(approvals.granted[0]).toMatchObject({
      role: 'devops',
      approver: 'carol',
      fingerprint: keys.carol.fingerprint,
    });

    const second = await startGate();
    await signalWithTemporalCli(second.workflowId, payload);
    const refused = await waitUntil(async () => {
      const state = await second.handle.query(approvalsQuery);
      return state.refused.length ? state : undefined;
    }, 'the replayed approval to be refused');
    expect(refused.granted).toEqual([]);
    expect(refused.refused[0].reason).toMatch(
      new RegExp(`the statement is for workflow ${workflowId}`),
    );
  });

  it('pgshift approve --key signs and sends; an unsigned approval is refused; pgshift approvals shows the key', async () => {
    const { workflowId } = await startGate();
    const unsigned = await runCli([
      'approve',
      workflowId,
      '--role',
      'engineering-lead',
      '--as',
      'alice',
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stdout).toMatch(/REFUSED: unsigned approve:engineering-lead/);
    const signed = await runCli([
      'approve',
      workflowId,
      '--role',
      'engineering-lead',
      '--as',
      'alice',
      '--key',
      keys.alice.path,
      '--comment',
      'reviewed',
    ]);
    expect(signed.stderr).toBe('');
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/approval accepted: engineering-lead by alice/);
    const forged = await runCli([
      'approve',
      workflowId,
      '--role',
      'product-owner',
      '--as',
      'bob',
      '--key',
      keys.alice.path,
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toMatch(/is allowed for alice, not for bob/);
    const shown = await runCli(['approvals', workflowId]);
    expect(shown.stdout).toContain(`✓ engineering-lead by alice at`);
    expect(shown.stdout).toContain(`(signed, key ${keys.alice.fingerprint}) — reviewed`);
    expect(shown.stdout).toContain(
      `(key ${keys.alice.fingerprint}): key ${keys.alice.fingerprint} is allowed for alice, not for bob`,
    );
  });
});
