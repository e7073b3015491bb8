/**
 * A data-losing emergency rollback on a production tier that requires signatures: the start
 * and the approval are SSH-signed statements checked against the worker's allowed signers,
 * and the revert activity verifies them again before it touches the database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signRollbackStart } from '../../src/cli/actions/rollback';
import { newStatement } from '../../src/cli/signing';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  approvalsQuery,
  approveRollbackSignal,
  type EmergencyRollbackInput,
  type EmergencyRollbackResult,
} from '../../workflows/definitions';
import { makeKey, sshKeygenSign, tempDir, type TestKey } from '../approvals/support/ssh-keys';
import { query } from '../support/databases';
import { closeTestEnv, temporalNamespace } from '../support/temporal';
import {
  createRollbackStack,
  loadPlan,
  progressOf,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from './rollback-stack';

let plan: MigrationPlan;
let stack: RollbackStack | undefined;
const keys: Record<string, TestKey> = {};
let signersFile: string;

beforeAll(async () => {
  plan = await loadPlan(SHIPPED_MIGRATIONS);
  const dir = tempDir();
  for (const name of ['alice', 'carol', 'erin']) keys[name] = makeKey(dir, name);
  signersFile = join(dir, 'allowed_signers');
  writeFileSync(
    signersFile,
    ['alice', 'carol', 'erin'].map((name) => `${name} ${keys[name].publicLine}`).join('\n') + '\n',
  );
});
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});
afterAll(async () => {
  await closeTestEnv();
});

/** Production (signatures required) after a deploy of 9-12, with data a rollback to 8 drops. */
async function signedProductionWithData(): Promise<RollbackStack> {
  stack = await createRollbackStack({
    approvals: { allowedSigners: signersFile, requireSignatures: true },
  });
  await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
  await query(
    stack.databaseUrl,
    `INSERT INTO customers (external_id, email, region, segment) VALUES ('cus_1', 'a@example.com', 'DE', 'enterprise')`,
  );
  return stack;
}

function rollbackTo8(environment: string): EmergencyRollbackInput {
  return { environment, initiator: 'erin', mode: 'migration', migrationTarget: 8, plan };
}

describe('a signed emergency rollback in production', () => {
  it('counts only a signed approval, and the revert activity accepts the signed decisions', async () => {
    const stack = await signedProductionWithData();
    const input = await signRollbackStart(temporalNamespace(), rollbackTo8(stack.environment), {
      key: keys.erin.path,
    });
    const handle = (await stack.start(input)) as WorkflowHandle & { firstExecutionRunId: string };
    await expect
      .poll(
        async () => (await progressOf(handle))?.steps.find((s) => s.name === 'approval')?.status,
        { timeout: 30_000, interval: 200 },
      )
      .toBe('running');

    await handle.signal(approveRollbackSignal, { approver: 'carol' });
    await expect
      .poll(async () => (await handle.query(approvalsQuery)).refused.map((r) => r.reason), {
        timeout: 10_000,
      })
      .toEqual([expect.stringMatching(/^unsigned rollback-approve/)]);
    expect(await stack.ledgerVersion()).toBe(12);

    const statement = newStatement(
      {
        namespace: temporalNamespace(),
        environment: stack.environment,
        workflowId: handle.workflowId,
        runId: handle.firstExecutionRunId,
        planChecksum: plan.checksum,
      },
      'rollback-approve',
      'carol',
      'approved on the incident call',
    );
    await handle.signal(approveRollbackSignal, {
      approver: 'carol',
      statement,
      signature: sshKeygenSign(keys.carol, statement),
    });
    const result = (await handle.result()) as EmergencyRollbackResult;
    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    const approvals = await handle.query(approvalsQuery);
    expect(approvals.granted).toEqual([
      expect.objectContaining({ approver: 'carol', fingerprint: keys.carol.fingerprint }),
    ]);
  });

  it('refuses an unsigned start before any change, and says why', async () => {
    const stack = await signedProductionWithData();
    const result = await stack.run(rollbackTo8(stack.environment));
    expect(result.finalState).not.toBe('completed');
    expect(JSON.stringify(result)).toMatch(
      /the start of this rollback by erin is refused: unsigned initiate-rollback/,
    );
    expect(await stack.ledgerVersion()).toBe(12);
  });
});
