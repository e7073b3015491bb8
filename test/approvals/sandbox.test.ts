import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigner } from '../../src/approvals/allowed-signers';
import { formatStatement, type DecisionStatement } from '../../src/approvals/statement';
import type { ExpectedDecision } from '../../src/approvals/verify-decision';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';
import type { verifyDecisionInSandbox } from './fixtures/verify-workflow';
import { makeKey, makeSecurityKey, sshKeygenSign, tempDir, type TestKey } from './support/ssh-keys';

let worker: TestWorker;
let carol: TestKey;
let signers: AllowedSigner[];
const sk = makeSecurityKey(11);

const EXPECTED: ExpectedDecision = {
  namespace: 'default',
  environment: 'production',
  workflowId: 'deploy-production-3f2a9c1b7d4e',
  runId: '0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e',
  planChecksum: 'c'.repeat(64),
  action: 'approve:devops',
  person: 'carol',
};

beforeAll(async () => {
  carol = makeKey(tempDir(), 'carol');
  signers = parseAllowedSigners(
    `carol ${carol.publicLine}\ncarol ${sk.publicLine}\n`,
    'allowed_signers',
  ).signers;
  worker = await startTestWorker(
    {},
    { workflowsPath: require.resolve('./fixtures/verify-workflow.ts') },
  );
});

afterAll(async () => {
  await worker?.stop();
  await closeTestEnv();
});

function statementNow(): string {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const statement: DecisionStatement = {
    ...EXPECTED,
    reason: 'reviewed',
    issuedAt: now,
    expiresAt: now + 3_600_000,
    nonce: 'ab'.repeat(16),
  };
  return formatStatement(statement);
}

async function verifyInWorkflow(input: Parameters<typeof verifyDecisionInSandbox>[0]) {
  return worker.env.client.workflow.execute<typeof verifyDecisionInSandbox>(
    'verifyDecisionInSandbox',
    {
      args: [input],
      taskQueue: worker.taskQueue,
      workflowId: `verify-${Math.random().toString(36).slice(2)}`,
    },
  );
}

describe('signature verification inside the workflow sandbox', () => {
  it('verifies ssh-keygen and security-key signatures with the workflow clock, and refuses a forgery', async () => {
    const statement = statementNow();
    const byCarol = await verifyInWorkflow({
      signed: { statement, signature: sshKeygenSign(carol, statement) },
      expected: EXPECTED,
      signers,
      seenNonces: [],
    });
    expect(byCarol).toMatchObject({
      ok: true,
      decision: { principal: 'carol', fingerprint: carol.fingerprint },
    });

    const bySecurityKey = await verifyInWorkflow({
      signed: { statement, signature: sk.sign(statement) },
      expected: EXPECTED,
      signers,
      seenNonces: [],
    });
    expect(bySecurityKey).toMatchObject({
      ok: true,
      decision: { keyType: 'sk-ssh-ed25519@openssh.com' },
    });

    const forged = await verifyInWorkflow({
      signed: {
        statement: statement.replace('approve:devops', 'approve:executive'),
        signature: sshKeygenSign(carol, statement),
      },
      expected: { ...EXPECTED, action: 'approve:executive' },
      signers,
      seenNonces: [],
    });
    expect(forged).toMatchObject({ ok: false, code: 'bad-signature' });
  });
});
