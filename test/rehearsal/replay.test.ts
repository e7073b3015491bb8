import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW_FAILURE_ERROR_TYPES } from '../../src/temporal/worker';
import { readHistoryFile } from '../deploy/history-files';
import { historyText } from '../faults/fault-support';
import { workflowBundle } from '../support/temporal';

const HISTORIES = join(__dirname, '..', 'histories');
const files = readdirSync(HISTORIES)
  .filter((f) => f.startsWith('staging-rehearsal-') && f.endsWith('.json'))
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

describe('replay of recorded staging rehearsals (scripts/record-rehearsal-histories.ts)', () => {
  it('has the representative histories (passed, compensated after a failed migration)', () => {
    expect(files).toEqual(['staging-rehearsal-compensated.json', 'staging-rehearsal-passed.json']);
    expect(files.map((f) => readHistoryFile(join(HISTORIES, f)).finalState)).toEqual([
      'failed',
      'passed',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replay(file);
    });

  it('carries no database URL in the recorded histories', () => {
    for (const file of files) {
      const text = historyText(readHistoryFile(join(HISTORIES, file)).proto);
      expect(text).toContain('CREATE TABLE IF NOT EXISTS'); // payloads are searched: the plan
      expect(text).not.toMatch(/postgres(ql)?:\/\//);
    }
  });

  it('fails when the workflow code changes in a way that would break running rehearsals', async () => {
    await expect(
      replay(files[1], require.resolve('../faults/fixtures/reordered-rehearsal-workflow.ts')),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });
});
