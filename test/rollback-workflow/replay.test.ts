import { beforeAll, describe, expect, it } from 'vitest';
import { historyFiles, installReplayRuntime, replayHistoryFile } from '../support/replay';

const files = [...historyFiles('emergency-rollback-'), ...historyFiles('archive-')];

beforeAll(installReplayRuntime);

describe('replay of recorded emergency rollbacks (scripts/record-rollback-histories.ts)', () => {
  it('has the representative histories', () => {
    expect(files).toEqual([
      'emergency-rollback-application-leased.json',
      'emergency-rollback-application.json',
      'emergency-rollback-full-emergency-approved-leased.json',
      'emergency-rollback-full-emergency-approved.json',
      'emergency-rollback-full-emergency-keep-replaced-leased.json',
      'emergency-rollback-full-emergency-keep-replaced.json',
      'emergency-rollback-full-emergency-restore-dump-during-restore.json',
      'emergency-rollback-no-action-leased.json',
      'emergency-rollback-no-action.json',
      'archive-preserved-database.json',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replayHistoryFile(file);
    });

  it('fails when the workflow code changes in a way that would break running rollbacks', async () => {
    await expect(
      replayHistoryFile(
        'emergency-rollback-full-emergency-approved.json',
        require.resolve('./fixtures/reordered-rollback-workflow.ts'),
      ),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });
});
