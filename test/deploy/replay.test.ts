import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../src/temporal/worker';
import { workflowBundle } from '../support/temporal';
import { readHistoryFile } from './history-files';

const HISTORIES = join(__dirname, '..', 'histories');
const files = readdirSync(HISTORIES)
  .filter((f) => f.startsWith('production-deploy-') && f.endsWith('.json'))
  .sort();

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  } catch {
    // already installed in this test process
  }
});

async function replay(file: string, workflowsPath?: string): Promise<void> {
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

describe('replay of recorded production deploys', () => {
  it('has the representative histories (completed, rolled back, rejected)', () => {
    expect(files).toEqual([
      'production-deploy-completed.json',
      'production-deploy-rejected.json',
      'production-deploy-rolled-back.json',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replay(file);
    });

  it('fails when the workflow code changes in a way that would break running deploys', async () => {
    await expect(
      replay(files[0], require.resolve('./fixtures/reordered-deploy-workflow.ts')),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });
});
