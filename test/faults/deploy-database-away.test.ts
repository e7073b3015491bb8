import { escapeIdentifier } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/migrations/database';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import { progressQuery } from '../../workflows/definitions';
import {
  approveAll,
  createDeployStack,
  databaseState,
  loadFixturePlan,
  waitForApprovalGate,
  type DeployStack,
} from '../deploy/deploy-stack';
import { query, testServerUrl } from '../support/databases';
import { closeTestEnv } from '../support/temporal';
import { databaseName, isRunning, runsOf, waitUntil } from './fault-support';

/** 002 sleeps 3 s while migrating (`pg_sleep(3)`): the database goes away right then. */
const FIXTURE = 'faults-deploy-slow';
const EVENTS = 50;

let stack: DeployStack;
let plan: MigrationPlan;
let closed: string | undefined;

beforeAll(async () => {
  stack = await createDeployStack();
  plan = await loadFixturePlan(FIXTURE);
  await stack.certify(plan);
});

afterEach(async () => {
  if (closed) await allowConnections(closed, true);
  closed = undefined;
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

/** `ALLOW_CONNECTIONS false` refuses every new session, superusers' too; running ones go on. */
async function allowConnections(database: string, allow: boolean): Promise<void> {
  await query(
    testServerUrl(),
    `ALTER DATABASE ${escapeIdentifier(database)} ALLOW_CONNECTIONS ${allow}`,
  );
}

describe('production deploy when the database goes away during verification', () => {
  it(
    'waits in compensation while the database is away, then rolls back to the previous version without losing data',
    { timeout: 240_000 },
    async () => {
      const url = await stack.useFreshProduction();
      const database = databaseName(url);
      await withClient(url, (client) =>
        migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
      );
      await query(
        url,
        `INSERT INTO events (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, $1::int) g`,
        [EVENTS],
      );
      const handle = await stack.startDeploy(plan);
      await waitForApprovalGate(handle);
      await approveAll(handle);

      // While 002 runs, the database stops accepting sessions: the migration's own session
      // finishes, and the post-deployment verification that follows cannot connect.
      await waitUntil('migration 002 to run', () => isRunning(database, 'pg_sleep(3)'));
      await allowConnections(database, false);
      closed = database;

      // Verification fails, naming the database; compensation retries the rollback files
      // against the unreachable database instead of giving up or leaving it between versions.
      const retrying = await waitUntil('compensation to retry the rollback files', async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const revert = pending.find((a) => a.activityType?.name === 'revertMigrations');
        return revert && (revert.attempt ?? 1) > 1 ? revert : undefined;
      });
      expect(retrying.lastFailure?.message).toContain(`database "${database}"`);
      const waiting = await handle.query(progressQuery);
      expect(waiting.phase).toBe('compensating');
      expect(waiting.steps.find((s) => s.name === 'verify')).toMatchObject({
        status: 'failed',
        detail: expect.stringContaining(
          `database "${database}" is not currently accepting connections`,
        ),
      });
      expect(waiting.finalState).toBeUndefined();

      // The database comes back: the next attempt rolls back, and the deploy ends rolled-back.
      await allowConnections(database, true);
      closed = undefined;
      const result = await handle.result();
      expect(result.finalState).toBe('rolled-back');
      expect(result.trigger).toBe('verification-failure');
      expect(result.reason).toContain(
        `post-deployment verification failed: SELECT 1: database "${database}" is not currently accepting connections`,
      );
      expect(result.reason).toContain('the database refuses new connections');
      expect(result.reason).not.toMatch(/postgres:[^*@]+@/);
      expect(result.compensation).toContain(
        'database rolled back to version 1 with the rollback files',
      );
      expect(result.toVersion).toBe(1);
      const password = new URL(url).password;
      expect(password).not.toBe('');
      expect(JSON.stringify(result)).not.toContain(password);

      const db = await databaseState(url);
      expect(db.versions).toEqual([1]);
      expect(db.tables).toEqual(['events']);
      expect(
        Number((await query<{ n: string }>(url, 'SELECT count(*) AS n FROM events'))[0].n),
      ).toBe(EVENTS);
      expect(db.deployments).toEqual([
        expect.objectContaining({ workflow_id: handle.workflowId, status: 'rolled-back' }),
      ]);
      const reverts = runsOf(await handle.fetchHistory(), 'revertMigrations');
      expect(reverts.map((r) => r.outcome)).toEqual(['completed']);
    },
  );
});
