import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalsQuery } from '../../workflows/definitions';
import { makeSigners, type TestKey } from '../approvals/support/ssh-keys';
import { runCli } from '../cli/run-cli';
import { closeTestEnv } from '../support/temporal';
import * as fleet from './fleet-stack';

const PODS = fleet.memberNames('pod', 3);
/** A fleet with a production-tier member: its decisions must be signed. */
const VAULTS = fleet.memberNames('vault', 2);

let stack: fleet.FleetStack;
let keys: Record<string, TestKey>;

beforeAll(async () => {
  const signing = makeSigners(['alice', 'carol', 'erin']);
  keys = signing.keys;
  const signers = signing.file;
  stack = await fleet.createFleetStack(
    {
      pods: { members: PODS, waves: [1, '100%'], betweenWaves: 'approval', concurrency: 2 },
      vaults: {
        members: VAULTS,
        approvals: fleet.fleetApprovals(signers),
      },
    },
    { [VAULTS[0]]: { tier: 'production' } },
  );
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

  it(
    'signs the start, the approvals and the rollback with --key when the fleet requires signatures',
    { timeout: 240_000 },
    async () => {
      const env = { PGSHIFT_TASK_QUEUE: stack.taskQueue };
      const cli = async (args: string[], expected = 0) => {
        const run = await runCli(args, env);
        expect(run.code, `pgshift ${args.join(' ')}:\n${run.stdout}\n${run.stderr}`).toBe(expected);
        return run.stdout;
      };
      const dir = ['--dir', stack.fixtureDir];
      await cli(['deploy', '--fleet', 'vaults', ...dir, '--as', 'erin', '--key', keys.erin.path]);
      // Names alone are refused, and say so at once (an update).
      expect(
        await cli(['approve', 'fleet-vaults', '--role', 'devops', '--as', 'carol'], 1),
      ).toMatch(/REFUSED: unsigned approve:devops: this fleet requires a signed statement/);
      const statement = await cli([
        'approve',
        'fleet-vaults',
        '--role',
        'devops',
        '--as',
        'carol',
        '--print-statement',
      ]);
      expect(statement).toMatch(/^pgshift-statement v1\n.*\nenvironment: fleet:vaults\n/);
      for (const [role, person] of [
        ['engineering-lead', 'alice'],
        ['devops', 'carol'],
      ])
        await cli([
          'approve',
          'fleet-vaults',
          '--role',
          role,
          '--as',
          person,
          '--key',
          keys[person].path,
        ]);
      const handle = stack.client.workflow.getHandle('fleet-vaults');
      const approvals = await handle.query(approvalsQuery);
      expect(approvals.granted.map((g) => g.fingerprint)).toEqual([
        keys.alice.fingerprint,
        keys.carol.fingerprint,
      ]);
      await fleet.waitForStage(stack.client, handle, 'rolled-out');
      for (const vault of VAULTS)
        expect(await fleet.versionsOf(stack.urls[vault])).toEqual([1, 2, 3]);

      await cli(['rollback', '--fleet', 'vaults', '--as', 'alice', '--key', keys.alice.path]);
      expect((await handle.result()).finalState).toBe('rolled-back');
      for (const vault of VAULTS) expect(await fleet.versionsOf(stack.urls[vault])).toEqual([1]);
    },
  );
});
