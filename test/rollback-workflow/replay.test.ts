import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../src/temporal/worker';
import { readHistoryFile } from '../deploy/history-files';
import { workflowBundle } from '../support/temporal';

const HISTORIES = join(__dirname, '..', 'histories');
const files = readdirSync(HISTORIES)
  .filter((f) => f.startsWith('emergency-rollback-') && f.endsWith('.json'))
  .sort();

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // already installed in this test process
  }
});

describe('replay of recorded emergency rollbacks (scripts/record-rollback-histories.ts)', () => {
  it('has the representative histories', () => {
    expect(files).toEqual([
      'emergency-rollback-application.json',
      'emergency-rollback-full-emergency-approved.json',
      'emergency-rollback-full-emergency-restore.json',
      'emergency-rollback-no-action.json',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      const { proto, workflowId } = readHistoryFile(join(HISTORIES, file));
      await Worker.runReplayHistory(
        {
          workflowBundle: await workflowBundle(),
          workflowFailureErrorTypes: WORKFLOW_FAILURE_ERROR_TYPES,
        },
        proto,
        workflowId,
      );
    });
});
