/**
 * Records test/histories/fleet-signed-*.json: a fleet rollout with signed decisions
 * (FLEET_SIGNED_APPROVALS_PATCH) of three databases, the first a production-tier environment
 * (so the fleet requires signatures): the fleet's keys read with the fleet, the initiator's
 * signed start, a refused unsigned approval, a `reloadApprovalKeys` signal, two signed
 * approvals, the rollout continued as new, a refused unsigned rollback request, then a signed
 * one. Written: the first and last runs of the rollout, and the production member's deploy
 * (its apply checks the parent again) and rollback. test/fleet/replay.test.ts replays them.
 *
 *   npx tsx scripts/record-signed-fleet-histories.ts
 */
import { newStatement } from '../src/cli/signing';
import type { DecisionAction } from '../src/approvals/statement';
import { makeSigners, sshKeygenSign } from '../test/approvals/support/ssh-keys';
import {
  createFleetStack,
  fleetApprovals,
  memberNames,
  waitForStage,
} from '../test/fleet/fleet-stack';
import { temporalNamespace } from '../test/support/temporal';
import { waitFor } from '../test/support/wait';
import { approvalsQuery, approveSignal, reloadApprovalKeysSignal } from '../workflows/definitions';
import {
  fleetChildWorkflowId,
  fleetOverviewQuery,
  rollbackFleetSignal,
  type FleetDeployResult,
} from '../workflows/fleet/definitions';
import { runRecording, saveHistory } from './recording';

const VAULTS = memberNames('vault', 3);

runRecording('record-signed-fleet-histories', async () => {
  const { keys, file } = makeSigners(['alice', 'carol', 'erin']);
  const stack = await createFleetStack(
    {
      vaults: {
        members: VAULTS,
        approvals: fleetApprovals(file),
        waves: [1, '100%'],
        concurrency: 2,
      },
    },
    { [VAULTS[0]]: { tier: 'production' } },
  );
  try {
    const workflowId = `fleet-vaults-${Date.now()}`;
    const sign = (person: string, action: DecisionAction, runId: string | null) => {
      const at = {
        namespace: temporalNamespace(),
        environment: 'fleet:vaults',
        workflowId,
        runId,
        planChecksum: stack.plan.checksum,
      };
      const statement = newStatement(at, action, person, '');
      return { statement, signature: sshKeygenSign(keys[person], statement) };
    };
    const handle = await stack.startFleet(
      'vaults',
      { childrenPerRun: 2 },
      { workflowId, ...sign('erin', 'initiate-deploy', null) },
    );
    const runId = handle.firstExecutionRunId;
    await waitForStage(stack.client, handle, 'approving');
    await handle.signal(approveSignal, { role: 'devops', approver: 'carol' });
    await handle.signal(reloadApprovalKeysSignal);
    for (const [role, person] of [
      ['engineering-lead', 'alice'],
      ['devops', 'carol'],
    ])
      await handle.signal(approveSignal, {
        role,
        approver: person,
        ...sign(person, `approve:${role}`, runId),
      });
    await waitFor('two signed approvals', async () => {
      const state = await handle.query(approvalsQuery);
      return state.granted.length === 2 && state.refused.length === 1;
    });
    await waitForStage(stack.client, handle, 'rolled-out');
    const latest = stack.client.workflow.getHandle(workflowId);
    const rollback = { kind: 'rollback', by: 'alice', reason: 'record' } as const;
    await latest.signal(rollbackFleetSignal, rollback);
    const refused = async () => (await latest.query(fleetOverviewQuery)).decisions.length === 1;
    await waitFor('the unsigned rollback refused', refused);
    await latest.signal(rollbackFleetSignal, {
      ...rollback,
      ...sign('alice', 'fleet-rollback', runId),
    });
    const result = (await latest.result()) as FleetDeployResult;
    if (result.finalState !== 'rolled-back')
      throw new Error(`the rollout ended ${result.finalState}, expected rolled-back`);
    const first = stack.client.workflow.getHandle(workflowId, runId);
    await saveHistory('fleet-signed-deploy-first-run', first, 'fleetDeploy', 'continued-as-new');
    await saveHistory('fleet-signed-deploy-rolled-back', latest, 'fleetDeploy', result.finalState);
    for (const [mode, attempt, name, outcome] of [
      ['deploy', 1, 'fleet-signed-database-deployed', 'deployed'],
      ['rollback', 2, 'fleet-signed-database-rolled-back', 'rolled-back'],
    ] as const) {
      const id = fleetChildWorkflowId(workflowId, VAULTS[0], mode, attempt);
      await saveHistory(name, stack.client.workflow.getHandle(id), 'fleetDatabaseDeploy', outcome);
    }
  } finally {
    await stack.stop();
  }
});
