/**
 * Regenerates test/histories/production-deploy-*.json: runs the representative deploys of
 * test/deploy/scenarios.ts against a real PostgreSQL and a real Temporal dev server (started
 * here, as the tests' global setup does, unless TEST_DATABASE_URL / TEMPORAL_ADDRESS are set)
 * and writes each run's event history. test/deploy/replay.test.ts replays them against the
 * current workflow code, so a change that would break running deploys fails CI.
 *
 *   npx tsx scripts/record-histories.ts [name…]   (default: all of them)
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
    const names = process.argv.slice(2);
    const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
    if (unknown.length)
      throw new Error(
        `no scenario ${unknown.join(', ')}; scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`,
      );
    for (const scenario of SCENARIOS.filter((s) => !names.length || names.includes(s.name)))
      await recordDeploy(stack, scenario.name, scenario.expected, () => scenario.run(stack, plan));
  } finally {
    await stack.stop();
  }
});
