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
import { join } from 'node:path';
import { createDeployStack, loadFixturePlan } from '../test/deploy/deploy-stack';
import { writeHistoryFile } from '../test/deploy/history-files';
import { SCENARIOS } from '../test/deploy/scenarios';
import { setup, teardown } from '../test/support/global-setup';
import { closeTestEnv } from '../test/support/temporal';

const HISTORIES = join(__dirname, '..', 'test', 'histories');

async function main(): Promise<void> {
  await setup();
  const stack = await createDeployStack();
  try {
    const plan = await loadFixturePlan('deploy-churn');
    await stack.certify(plan);
    for (const scenario of SCENARIOS) {
      await stack.useFreshProduction();
      await stack.resetApp();
      const handle = await scenario.run(stack, plan);
      const result = await handle.result();
      if (result.finalState !== scenario.expected)
        throw new Error(
          `scenario ${scenario.name} ended ${result.finalState}, expected ${scenario.expected}`,
        );
      const history = await handle.fetchHistory();
      const file = join(HISTORIES, `production-deploy-${scenario.name}.json`);
      writeHistoryFile(
        file,
        {
          workflowId: handle.workflowId,
          workflowType: 'productionDeploy',
          finalState: result.finalState,
        },
        history,
      );
      process.stdout.write(`recorded ${file} (${history.events?.length ?? 0} events)\n`);
    }
  } finally {
    await stack.stop();
    await closeTestEnv();
    await teardown();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`record-histories: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
