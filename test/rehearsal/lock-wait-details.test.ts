import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import { migrateUp } from '../../src/migrations/runner';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  progressQuery,
  type LockWaitPayload,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { closeTestEnv, startTestWorker, testEnv, type TestWorker } from '../support/temporal';
import { waitFor } from '../support/wait';
import { open, options } from '../migrations/fixtures';

/** What the Web UI shows as the run's current details (the SDK's built-in metadata query). */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  const metadata = (await handle.query('__temporal_workflow_metadata')) as {
    currentDetails?: string;
  };
  return metadata.currentDetails ?? '';
}

describe('a migration waiting for locks, seen from the workflow', () => {
  let worker: TestWorker;
  let stagingUrl: string;
  let plan: MigrationPlan;
  const sessions: Client[] = [];

  beforeAll(async () => {
    stagingUrl = await createTestDatabase('staging_lockwait');
    plan = await loadPlan(resolve(__dirname, '../fixtures/rehearsal-lock-wait'));
    // Staging already has the table: the rehearsal applies 002 only.
    const setup = await open(stagingUrl);
    sessions.push(setup);
    await migrateUp(setup, plan, { ...options(), to: 1 });
    await setup.query(
      `INSERT INTO customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 50) g`,
    );

    const workDir = mkdtempSync(join(tmpdir(), 'pgshift-lockwait-'));
    const config = parseConfig(
      { backupsDir: join(workDir, 'backups'), reportsDir: join(workDir, 'reports') },
      null,
    );
    const env = await testEnv();
    worker = await startTestWorker(
      createActivities({
        config,
        env: { STAGING_DATABASE_URL: stagingUrl },
        scratchServerUrl: testServerUrl(),
        // As the worker does (src/temporal/worker.ts): the apply activity signals its workflow.
        client: env.client,
      }),
    );
  });

  afterAll(async () => {
    for (const client of sessions) await client.end().catch(() => undefined);
    await worker?.stop();
    await closeTestEnv();
  });

  it('names the blocking session in the current details while it waits, and no longer once it applied', async () => {
    // A reporting session in an open transaction holds AccessShareLock on customers.
    const billing = await open(stagingUrl);
    sessions.push(billing);
    await billing.query(`SET application_name = 'billing'`);
    await billing.query('BEGIN; SELECT count(*) FROM customers');
    const billingPid = (await billing.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;

    const handle = await worker.env.client.workflow.start('stagingRehearsal', {
      taskQueue: worker.taskQueue,
      workflowId: `rehearsal-lock-wait-${Date.now()}`,
      args: [{ environment: 'staging', plan, initiator: 'test' } satisfies StagingRehearsalInput],
    });

    // The Web UI's current details and the progress query name the blocker while it waits.
    const billingSession = `pid ${billingPid} \\(billing, idle in transaction for [0-9.]+m?s\\) holding AccessShareLock on customers`;
    const blocker = new RegExp(`⏳ 002_add_customer_note\\.sql waiting for ${billingSession}`);
    const details = await waitFor('the current details to name the blocking session', async () => {
      const text = await currentDetails(handle);
      if (blocker.test(text)) return text;
      // A run that ended instead fails the expectation below at once, with its details.
      const { finalState } = await handle.query(progressQuery);
      return finalState ? `ended ${finalState}: ${text}` : undefined;
    });
    expect(details).toMatch(/^\*\*migrate\*\* — applying migrations 2\.\.2 to staging — ⏳/);
    const progress = await handle.query(progressQuery);
    expect(progress.phase).toBe('migrate');
    expect(progress.currentDetails).toMatch(blocker);
    // It waits without applying anything.
    expect(
      await query(stagingUrl, `SELECT version FROM pgshift.migrations WHERE version = 2`),
    ).toEqual([]);

    await billing.query('COMMIT');
    const result = (await handle.result()) as StagingRehearsalResult;
    expect(result.failure).toBeUndefined();
    expect(result.finalState).toBe('passed');
    expect(await currentDetails(handle)).not.toContain('⏳');
    expect((await handle.query(progressQuery)).currentDetails).not.toContain('⏳');

    // The history holds what the activity said: the blocker first, the end of the wait last.
    const history = await handle.fetchHistory();
    const signals = (history.events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((a) => a?.signalName === 'lockWait');
    expect(signals.length).toBeGreaterThanOrEqual(2);
    const payloads = signals.map((a) =>
      defaultPayloadConverter.fromPayload<LockWaitPayload>(a!.input!.payloads![0]),
    );
    expect(payloads[0]).toMatchObject({ what: '002_add_customer_note.sql' });
    expect('blockers' in payloads[0] && payloads[0].blockers[0]).toMatch(
      new RegExp(`^${billingSession}$`),
    );
    expect(payloads.at(-1)).toEqual({ what: '002_add_customer_note.sql', ended: true });
  });
});
