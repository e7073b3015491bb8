/**
 * Regenerates test/histories/production-deploy-*.json: runs the representative deploys of
 * test/deploy/scenarios.ts against a real PostgreSQL and a real Temporal dev server (started
 * here, as the tests' global setup does, unless TEST_DATABASE_URL / TEMPORAL_ADDRESS are set)
 * and writes each run's event history. test/deploy/replay.test.ts replays them against the
 * current workflow code, so a change that would break running deploys fails CI.
 *
 *   npx tsx scripts/record-histories.ts
 *
 * Re-record only for an intended, patched() change; keep the old files for deploys still running.
 */
import { createDeployStack, loadFixturePlan } from '../test/deploy/deploy-stack';
import { SCENARIOS } from '../test/deploy/scenarios';
import { recordDeploy, runRecording } from './recording';

runRecording('record-histories', async () => {
  const stack = await createDeployStack();
  try {
    const plan = await loadFixturePlan('deploy-churn');
    await stack.certify(plan);
    for (const scenario of SCENARIOS)
      await recordDeploy(stack, scenario.name, scenario.expected, () => scenario.run(stack, plan));
  } finally {
    await stack.stop();
  }
});
