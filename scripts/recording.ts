/**
 * What the scripts/record-*.ts share: the tests' own services around a recording, and where
 * each finished run's history goes (test/histories/, replayed by the replay tests).
 */
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { DeployStack } from '../test/deploy/deploy-stack';
import { writeHistoryFile } from '../test/deploy/history-files';
import { setup, teardown } from '../test/support/global-setup';
import { closeTestEnv } from '../test/support/temporal';
import type { productionDeploy } from '../workflows/production-deploy';

/**
 * Runs `record` against a real PostgreSQL and a real Temporal dev server (started as the tests'
 * global setup starts them, unless TEST_DATABASE_URL / TEMPORAL_ADDRESS are set), then exits
 * 0, or 1 after printing the error under the script's `name`.
 */
export function runRecording(name: string, record: () => Promise<void>): void {
  const main = async () => {
    await setup();
    try {
      await record();
    } finally {
      await closeTestEnv();
      await teardown();
    }
  };
  main().then(
    () => process.exit(0),
    (error: Error) => {
      process.stderr.write(`${name}: ${error.stack ?? error.message}\n`);
      process.exit(1);
    },
  );
}

/** Writes the history of a finished run as test/histories/<name>.json, and says so. */
export async function saveHistory(
  name: string,
  handle: Pick<WorkflowHandle, 'workflowId' | 'fetchHistory'>,
  workflowType: string,
  finalState: string,
  note = '',
): Promise<void> {
  const file = join(__dirname, '..', 'test', 'histories', `${name}.json`);
  const history = await handle.fetchHistory();
  writeHistoryFile(file, { workflowId: handle.workflowId, workflowType, finalState }, history);
  process.stdout.write(`recorded ${file} (${history.events?.length ?? 0} events${note})\n`);
}

/**
 * Runs one production deploy on a fresh production database with the example app reset,
 * requires it to end `expected`, and records it as test/histories/production-deploy-<name>.json.
 */
export async function recordDeploy(
  stack: DeployStack,
  name: string,
  expected: string,
  start: () => Promise<WorkflowHandle<typeof productionDeploy>>,
): Promise<void> {
  await stack.useFreshProduction();
  await stack.resetApp();
  const handle = await start();
  const result = await handle.result();
  if (result.finalState !== expected)
    throw new Error(
      `deploy ${name} ended ${result.finalState}${result.reason ? ` (${result.reason})` : ''}, expected ${expected}`,
    );
  await saveHistory(`production-deploy-${name}`, handle, 'productionDeploy', result.finalState);
}
