import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readHistoryFile } from '../deploy/history-files';
import { historyText } from '../faults/fault-support';
import {
  HISTORIES,
  historyFiles,
  installReplayRuntime,
  replayHistoryFile,
} from '../support/replay';

const files = historyFiles('staging-rehearsal-');

beforeAll(installReplayRuntime);

describe('replay of recorded staging rehearsals (scripts/record-rehearsal-histories.ts)', () => {
  it('has the representative histories (passed, compensated after a failed migration, a migration waiting for locks)', () => {
    expect(files).toEqual([
      'staging-rehearsal-compensated-leased.json',
      'staging-rehearsal-compensated.json',
      'staging-rehearsal-lock-wait.json',
      'staging-rehearsal-passed-leased.json',
      'staging-rehearsal-passed.json',
    ]);
    expect(files.map((f) => readHistoryFile(join(HISTORIES, f)).finalState)).toEqual([
      'failed',
      'failed',
      'passed',
      'passed',
      'passed',
    ]);
    // The lock-wait run holds the apply activity's lockWait signals (waiting, then ended).
    const signals = (
      readHistoryFile(join(HISTORIES, 'staging-rehearsal-lock-wait.json')).proto.events ?? []
    )
      .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
      .filter((name) => name === 'lockWait');
    expect(signals.length).toBeGreaterThanOrEqual(2);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replayHistoryFile(file);
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
      replayHistoryFile(
        files[1],
        require.resolve('../faults/fixtures/reordered-rehearsal-workflow.ts'),
      ),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });
});
