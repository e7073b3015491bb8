/**
 * Regenerates test/histories/fleet-*.json: one fleet rollout of three databases against a real
 * PostgreSQL and a real Temporal dev server — approved, halted by a failing database (its deploy
 * compensated), resumed, rolled out, then rolled back — and writes the first and last runs of
 * the rollout (it continues as new on the way) and the failing database's three children.
 * test/fleet/replay.test.ts replays them against the current workflow code, so a change that
 * would break running rollouts fails CI.
 *
 *   npx tsx scripts/record-fleet-histories.ts
 *
 * Re-record only for an intended, patched() change; keep the old files for rollouts still running.
 */
import {
  approveFleet,
  createFleetStack,
  memberNames,
  waitForStage,
} from '../test/fleet/fleet-stack';
import { query } from '../test/support/databases';
import {
  fleetChildWorkflowId,
  resumeFleetSignal,
  rollbackFleetSignal,
  type FleetDeployResult,
} from '../workflows/fleet/definitions';
import { runRecording, saveHistory } from './recording';

const TENANTS = memberNames('tenant', 3);
const BROKEN = 'tenant-02';

runRecording('record-fleet-histories', async () => {
  const stack = await createFleetStack({
    tenants: { members: TENANTS, waves: [1, '100%'], concurrency: 2, failureBudget: 0 },
  });
  try {
    await query(stack.urls[BROKEN], `INSERT INTO events (payload) VALUES ('[1, 2]')`);
    const handle = await stack.startFleet('tenants', { childrenPerRun: 2 });
    await approveFleet(stack.client, handle);
    await waitForStage(stack.client, handle, 'halted');
    const latest = stack.client.workflow.getHandle(handle.workflowId);
    await query(stack.urls[BROKEN], `DELETE FROM events WHERE jsonb_typeof(payload) <> 'object'`);
    await latest.signal(resumeFleetSignal, { kind: 'resume', by: 'carol', reason: 'fixed' });
    await waitForStage(stack.client, handle, 'rolled-out');
    await latest.signal(rollbackFleetSignal, { kind: 'rollback', by: 'alice', reason: 'record' });
    const result = (await latest.result()) as FleetDeployResult;
    if (result.finalState !== 'rolled-back')
      throw new Error(`the rollout ended ${result.finalState}, expected rolled-back`);

    const runs: string[] = [];
    for await (const run of stack.client.workflow.list({
      query: `WorkflowId = "${handle.workflowId}"`,
    }))
      runs.push(run.runId);
    if (runs.length < 2) throw new Error('the rollout did not continue as new');
    const first = stack.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    await saveHistory('fleet-deploy-first-run', first, 'fleetDeploy', 'continued-as-new');
    await saveHistory('fleet-deploy-rolled-back', latest, 'fleetDeploy', result.finalState);
    const children = [
      ['deploy', 1, 'fleet-database-compensated', 'failed'],
      ['deploy', 2, 'fleet-database-deployed', 'deployed'],
      ['rollback', 3, 'fleet-database-rolled-back', 'rolled-back'],
    ] as const;
    for (const [mode, attempt, name, outcome] of children) {
      const id = fleetChildWorkflowId(handle.workflowId, BROKEN, mode, attempt);
      await saveHistory(name, stack.client.workflow.getHandle(id), 'fleetDatabaseDeploy', outcome);
    }
  } finally {
    await stack.stop();
  }
});
