import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetOverviewQuery, type FleetOverview } from '../../workflows/fleet/definitions';
import { stackWorkerProcess, waitUntil, type WorkerProcess } from '../faults/fault-support';
import { query } from '../support/databases';
import { closeTestEnv } from '../support/temporal';
import * as fleet from './fleet-stack';

const SHARDS = fleet.memberNames('shard', 20);

let stack: fleet.FleetStack;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await fleet.createFleetStack({
    shards: { members: SHARDS, waves: [2, '100%'], concurrency: 4 },
  });
  // Real `pgshift worker` processes serve the stack's task queue here.
  await stack.stopWorker();
});

afterAll(async () => {
  for (const worker of workers) await worker.kill();
  await stack?.stop();
  await closeTestEnv();
});

const worker = (): Promise<WorkerProcess> => stackWorkerProcess(stack, workers);

describe('fleet rollout when its worker process is killed', () => {
  it(
    'rolls every database out exactly once after a SIGKILL in the middle of a wave',
    { timeout: 480_000 },
    async () => {
      const first = await worker();
      const handle = await stack.startFleet('shards', { childrenPerRun: 6 });
      await fleet.approveFleet(stack.client, handle);
      const latest = stack.client.workflow.getHandle(handle.workflowId);
      const midway = await waitUntil('databases of wave 2 deploying', async () => {
        const overview: FleetOverview = await latest.query(fleetOverviewQuery);
        const wave2 = overview.waves[1]?.counts ?? {};
        return (wave2.deployed ?? 0) >= 2 && (wave2.running ?? 0) > 0 ? overview : undefined;
      });
      await first.kill();
      await worker();

      const done = await fleet.waitForStage(stack.client, handle, 'rolled-out', 300_000, 'halted');
      expect(midway.waves[1].counts.pending).toBeGreaterThan(0);
      expect(done.waves.map((w) => w.counts)).toEqual([{ deployed: 2 }, { deployed: 18 }]);
      expect(done.failed).toEqual([]);
      for (const shard of SHARDS) {
        expect(await fleet.versionsOf(stack.urls[shard])).toEqual([1, 2, 3]);
        // One deploy per database, completed: the kill neither repeated nor lost one.
        const records = await query<{ status: string; workflow_id: string }>(
          stack.urls[shard],
          `SELECT status, workflow_id FROM pgshift.deployments WHERE kind = 'deploy'`,
        );
        expect(records).toEqual([
          { status: 'completed', workflow_id: `${handle.workflowId}--${shard}--deploy-1` },
        ]);
        const events = await query<{ n: string }>(
          stack.urls[shard],
          'SELECT count(*) AS n FROM events',
        );
        expect(Number(events[0].n)).toBe(5);
      }
      await latest.terminate('test over');
    },
  );
});
