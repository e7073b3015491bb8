import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli';
import { closeTestEnv } from '../support/temporal';
import * as fleet from './fleet-stack';

const PODS = fleet.memberNames('pod', 3);

let stack: fleet.FleetStack;

beforeAll(async () => {
  stack = await fleet.createFleetStack({
    pods: { members: PODS, waves: [1, '100%'], betweenWaves: 'approval', concurrency: 2 },
  });
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

describe('pgshift deploy --fleet, fleet status, fleet resume, rollback --fleet', () => {
  it(
    'starts the rollout, takes its approvals, waits between waves for a resume, and reverses it',
    { timeout: 240_000 },
    async () => {
      const env = { PGSHIFT_TASK_QUEUE: stack.taskQueue };
      const cli = async (args: string[]) => {
        const run = await runCli(args, env);
        expect(run.code, `pgshift ${args.join(' ')}:\n${run.stdout}\n${run.stderr}`).toBe(0);
        return run.stdout;
      };
      expect(
        await cli(['deploy', '--fleet', 'pods', '--dir', stack.fixtureDir, '--as', 'erin']),
      ).toMatch(
        /Started fleet rollout fleet-pods[\s\S]*pgshift approve fleet-pods --role engineering-lead/,
      );
      await cli(['approve', 'fleet-pods', '--role', 'engineering-lead', '--as', 'alice']);
      await cli(['approve', 'fleet-pods', '--role', 'devops', '--as', 'carol']);
      const handle = stack.client.workflow.getHandle('fleet-pods');
      await fleet.waitForStage(stack.client, handle, 'between-waves');
      expect(await cli(['fleet', 'status', 'pods'])).toMatch(
        /Fleet pods: between-waves, wave 2 of 2[\s\S]*wave 1 \(1\): 1 deployed\n\s+wave 2 \(2\): 2 pending/,
      );
      await cli(['fleet', 'resume', 'pods', '--as', 'carol']);
      await fleet.waitForStage(stack.client, handle, 'rolled-out');
      for (const pod of PODS) expect(await fleet.versionsOf(stack.urls[pod])).toEqual([1, 2, 3]);
      expect(await cli(['status', 'fleet-pods'])).toMatch(
        /wave 1 \(1 database\)[\s\S]*wave 2 \(2 databases\)/,
      );

      await cli(['rollback', '--fleet', 'pods', '--as', 'alice']);
      expect((await handle.result()).finalState).toBe('rolled-back');
      for (const pod of PODS) expect(await fleet.versionsOf(stack.urls[pod])).toEqual([1]);
    },
  );
});
