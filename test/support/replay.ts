import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../src/temporal/worker';
import { readHistoryFile } from '../deploy/history-files';
import { workflowBundle } from './temporal';

/** test/histories: recorded runs replayed against the current workflow code in CI. */
export const HISTORIES = join(__dirname, '..', 'histories');

/** The recorded history files whose names start with `prefix`, sorted. */
export function historyFiles(prefix: string): string[] {
  return readdirSync(HISTORIES)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.json'))
    .sort();
}

/** Quiet SDK logs for replay tests (once per test process). */
export function installReplayRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // already installed in this test process
  }
}

/** Replays one recorded history against the bundled workflows; throws on nondeterminism. */
export async function replayHistoryFile(file: string, workflowsPath?: string): Promise<void> {
  const { proto, workflowId } = readHistoryFile(join(HISTORIES, file));
  await Worker.runReplayHistory(
    {
      workflowBundle: await workflowBundle(workflowsPath),
      workflowFailureErrorTypes: WORKFLOW_FAILURE_ERROR_TYPES,
    },
    proto,
    workflowId,
  );
}
