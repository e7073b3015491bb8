import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlan } from '../../src/migrations/files';
import {
  progressQuery,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../../workflows/definitions';
import { createTestDatabase, query } from '../support/databases';
import { closeTestEnv, testEnv } from '../support/temporal';
import { waitFor } from '../support/wait';
import { startWorkerProcess, workerProcessEnv } from '../support/worker-process';

const SLOW = resolve(__dirname, '../fixtures/rehearsal-slow');

describe('staging rehearsal when the worker dies', () => {
  const workers: ChildProcess[] = [];
  let workerEnv: NodeJS.ProcessEnv;
  let stagingUrl: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-crash-'));
    stagingUrl = await createTestDatabase('staging_crash');
    workerEnv = workerProcessEnv(
      dir,
      { backupsDir: join(dir, 'backups'), reportsDir: join(dir, 'reports') },
      { STAGING_DATABASE_URL: stagingUrl },
      'crash',
    );
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await closeTestEnv();
  });

  it('resumes on a new worker after the first is killed mid-migration, applying nothing twice', async () => {
    const first = await startWorkerProcess(workerEnv);
    workers.push(first);
    const plan = await loadPlan(SLOW);
    const env = await testEnv();
    const handle = await env.client.workflow.start('stagingRehearsal', {
      taskQueue: workerEnv.PGSHIFT_TASK_QUEUE!,
      workflowId: `rehearsal-crash-${Date.now()}`,
      args: [
        {
          environment: 'staging',
          plan,
          initiator: 'test',
          options: { rollbackDepth: 0 },
        } satisfies StagingRehearsalInput,
      ],
    });

    // The slow migration 002 is running on the first worker: kill it there and then.
    await waitFor('the migrate step', async () => {
      const progress = await handle.query(progressQuery);
      return progress.steps.find((s) => s.name === 'migrate')?.status === 'running';
    });
    await waitFor('migration 002 to run', async () => {
      const rows = await query(
        stagingUrl,
        "SELECT pid FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()",
      );
      return rows.length > 0;
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    const second = await startWorkerProcess(workerEnv);
    workers.push(second);
    const result = (await handle.result()) as StagingRehearsalResult;
    expect(result.failure).toBeUndefined();
    expect(result.finalState).toBe('passed');

    const ledger = await query<{ version: number }>(
      stagingUrl,
      'SELECT version FROM pgshift.migrations ORDER BY version',
    );
    expect(ledger.map((r) => r.version)).toEqual([1, 2, 3]);
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).some(
      (e) =>
        e.activityTaskStartedEventAttributes &&
        (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    expect(retried).toBe(true);

    second.kill('SIGTERM');
    const code = await new Promise((r) => second.once('exit', r));
    expect(code).toBe(0);
  });
});
