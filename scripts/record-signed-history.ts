/**
 * Records test/histories/production-deploy-signed-completed.json: a production deploy with
 * signed approvals (SIGNED_APPROVALS_PATCH) — the approver keys read by an activity, the
 * initiator's signed start, a refused unsigned approval, a `reloadApprovalKeys` signal, three
 * signed approvals (by signal and by update), the keys re-read before the gate opens, and
 * the apply activity handed the signed approvals. test/deploy/replay.test.ts replays it.
 *
 *   npx tsx scripts/record-signed-history.ts
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newStatement, type StatementTarget } from '../src/cli/signing';
import type { DecisionAction } from '../src/approvals/statement';
import {
  approvalsQuery,
  approveSignal,
  reloadApprovalKeysSignal,
  submitApprovalUpdate,
} from '../workflows/definitions';
import type { productionDeploy } from '../workflows/production-deploy';
import { makeKey, sshKeygenSign, tempDir } from '../test/approvals/support/ssh-keys';
import {
  createDeployStack,
  loadFixturePlan,
  waitForApprovalGate,
} from '../test/deploy/deploy-stack';
import { temporalNamespace } from '../test/support/temporal';
import { waitFor } from '../test/support/wait';
import { recordDeploy, runRecording } from './recording';

runRecording('record-signed-history', async () => {
  const dir = tempDir();
  const keys = Object.fromEntries(
    ['alice', 'bob', 'carol', 'erin'].map((name) => [name, makeKey(dir, name)]),
  );
  const signers = join(dir, 'allowed_signers');
  writeFileSync(
    signers,
    Object.entries(keys)
      .map(([name, key]) => `${name} ${key.publicLine}`)
      .join('\n') + '\n',
  );
  const stack = await createDeployStack({
    approvals: {
      roster: { 'engineering-lead': ['alice'], 'product-owner': ['bob'], devops: ['carol'] },
      expiry: '1h',
      reminderEvery: '1h',
      allowedSigners: signers,
    },
  });
  try {
    const plan = await loadFixturePlan('deploy-churn');
    await stack.certify(plan);
    const workflowId = `deploy-production-${plan.checksum.slice(0, 12)}-${randomBytes(3).toString('hex')}`;
    const target = (runId: string | null): StatementTarget => ({
      namespace: temporalNamespace(),
      environment: 'production',
      workflowId,
      runId,
      planChecksum: plan.checksum,
    });
    const sign = (person: string, action: DecisionAction, runId: string | null) => {
      const statement = newStatement(target(runId), action, person, '');
      return { statement, signature: sshKeygenSign(keys[person], statement) };
    };
    await recordDeploy(stack, 'signed-completed', 'completed', async () => {
      const handle = await stack.client.workflow.start<typeof productionDeploy>(
        'productionDeploy',
        {
          taskQueue: stack.taskQueue,
          workflowId,
          args: [
            {
              environment: 'production',
              plan,
              initiator: 'erin',
              ...sign('erin', 'initiate-deploy', null),
              options: {},
            },
          ],
        },
      );
      const runId = handle.firstExecutionRunId;
      await waitForApprovalGate(handle);
      await handle.signal(approveSignal, { role: 'devops', approver: 'carol' });
      await handle.signal(reloadApprovalKeysSignal);
      await handle.signal(approveSignal, {
        role: 'engineering-lead',
        approver: 'alice',
        ...sign('alice', 'approve:engineering-lead', runId),
      });
      await handle.executeUpdate(submitApprovalUpdate, {
        args: [
          {
            role: 'product-owner',
            approver: 'bob',
            ...sign('bob', 'approve:product-owner', runId),
          },
        ],
      });
      await waitFor(
        'two approvals',
        async () => (await handle.query(approvalsQuery)).granted.length === 2,
      );
      await handle.signal(approveSignal, {
        role: 'devops',
        approver: 'carol',
        ...sign('carol', 'approve:devops', runId),
      });
      return handle;
    });
  } finally {
    await stack.stop();
  }
});
