import { beforeAll, describe, expect, it } from 'vitest';
import { historyFiles, installReplayRuntime, replayHistoryFile } from '../support/replay';

const files = historyFiles('production-deploy-');

beforeAll(installReplayRuntime);

describe('replay of recorded production deploys', () => {
  it('has the representative histories (completed, rolled back, rejected, restored keeping the replaced database, signed; before and after the environment lease)', () => {
    expect(files).toEqual([
      'production-deploy-completed-leased.json',
      'production-deploy-completed.json',
      'production-deploy-rejected-leased.json',
      'production-deploy-rejected.json',
      'production-deploy-restored-keeping-replaced.json',
      'production-deploy-rolled-back-leased.json',
      'production-deploy-rolled-back.json',
      'production-deploy-signed-completed.json',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replayHistoryFile(file);
    });

  it('fails when the workflow code changes in a way that would break running deploys', async () => {
    await expect(
      replayHistoryFile(files[0], require.resolve('./fixtures/reordered-deploy-workflow.ts')),
    ).rejects.toThrow(/[Nn]ondetermin/);
  });
});
