import { beforeAll, describe, expect, it } from 'vitest';
import { historyFiles, installReplayRuntime, replayHistoryFile } from '../support/replay';

const files = historyFiles('fleet-');

beforeAll(installReplayRuntime);

describe('replay of a recorded fleet rollout', () => {
  it('has the rollout (its first run and its last, after continue-as-new) and a database deploy compensated, deployed and rolled back', () => {
    expect(files).toEqual([
      'fleet-database-compensated.json',
      'fleet-database-deployed.json',
      'fleet-database-rolled-back.json',
      'fleet-deploy-first-run.json',
      'fleet-deploy-rolled-back.json',
    ]);
  });

  for (const file of files)
    it(`replays ${file} with the current workflow code`, async () => {
      await replayHistoryFile(file);
    });
});
