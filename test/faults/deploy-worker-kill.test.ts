import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withClient } from '../../src/migrations/database';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import type { RunSummary } from '../../activities/migrate';
import {
  approveAll,
  createDeployStack,
  databaseState,
  loadFixturePlan,
  waitForApprovalGate,
  waitForPhase,
  type DeployStack,
} from '../deploy/deploy-stack';
import { query } from '../support/databases';
import { closeTestEnv } from '../support/temporal';
import {
  databaseName,
  isRunning,
  runsOf,
  stackWorkerProcess,
  waitUntil,
  type WorkerProcess,
} from './fault-support';

/** 002 sleeps 3 s while migrating (`pg_sleep(3)`) and 4 s while rolling back (`pg_sleep(4)`). */
const FIXTURE = 'faults-deploy-slow';
const EVENTS = 50;

let stack: DeployStack;
let plan: MigrationPlan;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await createDeployStack();
  plan = await loadFixturePlan(FIXTURE);
  await stack.certify(plan);
  // Real `pgshift worker` processes serve the stack's task queue in these tests.
  await stack.stopWorker();
});

// Each test's workers read that test's PRODUCTION_DATABASE_URL: none may outlive its test.
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
});

afterAll(async () => {
  for (const worker of workers) await worker.kill();
  await stack?.stop();
  await closeTestEnv();
});

beforeEach(async () => {
  await stack.resetApp();
});

/** A fresh production at version 1 holding EVENTS events: what the deploy must never lose. */
async function productionAtVersionOne(): Promise<string> {
  const url = await stack.useFreshProduction();
  await withClient(url, (client) =>
    migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
  );
  await query(
    url,
    `INSERT INTO events (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, $1::int) g`,
    [EVENTS],
  );
  return url;
}

const worker = (): Promise<WorkerProcess> => stackWorkerProcess(stack, workers);

async function eventCount(url: string): Promise<number> {
  return Number((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM events'))[0].n);
}

describe('production deploy when its worker process is killed', () => {
  it(
    'finishes on a new worker after a kill during a migration, applying every migration once',
    { timeout: 240_000 },
    async () => {
      const url = await productionAtVersionOne();
      const first = await worker();
      const handle = await stack.startDeploy(plan);
      await waitForApprovalGate(handle);
      await approveAll(handle);

      await waitUntil('migration 002 to run', () => isRunning(databaseName(url), 'pg_sleep(3)'));
      await first.kill();
      await worker();

      const result = await handle.result();
      expect({ finalState: result.finalState, reason: result.reason }).toEqual({
        finalState: 'completed',
        reason: expect.stringMatching(/^production at version 3/),
      });
      const db = await databaseState(url);
      expect(db.versions).toEqual([1, 2, 3]);
      expect(db.tables).toEqual(['events', 'recovery_cases']);
      expect(await eventCount(url)).toBe(EVENTS);
      const ledger = await query<{ version: number; applied_by: string }>(
        url,
        'SELECT version, applied_by FROM pgshift.migrations WHERE version > 1 ORDER BY version',
      );
      for (const row of ledger) expect(row.applied_by).toContain(handle.workflowId);

      // One applyMigrations, retried on the new worker, completed once; it applied only what
      // the killed attempt had not committed.
      const applies = runsOf(await handle.fetchHistory(), 'applyMigrations');
      expect(applies).toHaveLength(1);
      expect(applies[0].outcome).toBe('completed');
      expect(applies[0].attempts).toBeGreaterThan(1);
      const applied = (applies[0].result as RunSummary).applied.map((m) => m.version);
      expect([[2, 3], [3]]).toContainEqual(applied);
    },
  );

  it(
    'finishes compensation on a new worker after a kill during it, undoing everything exactly once',
    { timeout: 240_000 },
    async () => {
      const url = await productionAtVersionOne();
      const first = await worker();
      const handle = await stack.startDeploy(plan, {
        appVersion: '2.0.0',
        monitoringWindow: '60s',
        monitoringInterval: '1s',
      });
      await waitForApprovalGate(handle);
      await approveAll(handle);
      await waitForPhase(handle, 'monitor');
      await stack.setFault({ mode: 'fail', version: '2.0.0' });

      // The health check fails 3 times in a row; compensation rolls 003 back, then 002 (slow).
      await waitUntil('the rollback of 002 to run', () =>
        isRunning(databaseName(url), 'pg_sleep(4)'),
      );
      await first.kill();
      await worker();

      const result = await handle.result();
      expect({ finalState: result.finalState, reason: result.reason }).toMatchObject({
        finalState: 'rolled-back',
      });
      expect(result.trigger).toBe('critical-functionality-broken');
      expect(result.compensation).toContain(
        'database rolled back to version 1 with the rollback files',
      );
      expect(result.compensation).toContain('application rolled back to 1.0.0');
      expect(result.toVersion).toBe(1);
      const db = await databaseState(url);
      expect(db.versions).toEqual([1]);
      expect(db.tables).toEqual(['events']);
      expect(await eventCount(url)).toBe(EVENTS);
      expect(db.deployments).toEqual([
        expect.objectContaining({ workflow_id: handle.workflowId, status: 'rolled-back' }),
      ]);
      expect(await stack.appVersion()).toBe('1.0.0');

      // Compensation ran once: one revertMigrations (retried after the kill, completed once),
      // one application rollback.
      const history = await handle.fetchHistory();
      const reverts = runsOf(history, 'revertMigrations');
      expect(reverts).toHaveLength(1);
      expect(reverts[0].outcome).toBe('completed');
      expect(reverts[0].attempts).toBeGreaterThan(1);
      expect((reverts[0].result as RunSummary).toVersion).toBe(1);
      expect(runsOf(history, 'rollbackApplication').map((r) => r.outcome)).toEqual(['completed']);
      expect(runsOf(history, 'restoreDatabase')).toEqual([]);
    },
  );
});
