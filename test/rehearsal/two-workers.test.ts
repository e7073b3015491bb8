import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../src/backup/manifest';
import { withClient } from '../../src/migrations/database';
import { loadPlan } from '../../src/migrations/files';
import { PlanStore } from '../../src/migrations/plan-store';
import { migrateUp } from '../../src/migrations/runner';
import { snapshotSchema } from '../../src/migrations/snapshot';
import { DEFAULT_RUNNER_OPTIONS } from '../../src/migrations/types';
import {
  progressQuery,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../../workflows/definitions';
import { createTestDatabase } from '../support/databases';
import { closeTestEnv, endLeasesOn, testEnv } from '../support/temporal';
import { waitFor } from '../support/wait';
import { startWorkerProcess, workerProcessEnv } from '../support/worker-process';

const BROKEN = resolve(__dirname, '../fixtures/rehearsal-broken-rollback');

/** The worker identity (`pgshift-worker@host:pid`) that started each activity, by type, in order. */
function activityWorkers(history: temporal.api.history.v1.IHistory): [string, string][] {
  const types = new Map<string, string>();
  const started: [string, string][] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) types.set(String(event.eventId), scheduled.activityType?.name ?? '');
    const start = event.activityTaskStartedEventAttributes;
    if (start)
      started.push([types.get(String(start.scheduledEventId)) ?? '', start.identity ?? '']);
  }
  return started;
}

describe('several workers on one task queue', () => {
  const workers: ChildProcess[] = [];
  let dir: string;
  let workerEnv: NodeJS.ProcessEnv;
  let stagingUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgshift-two-workers-'));
    stagingUrl = await createTestDatabase('staging_two_workers');
    // Both workers read one config whose backups and plan store are on storage they share.
    workerEnv = workerProcessEnv(
      dir,
      {
        backupsDir: join(dir, 'shared', 'backups'),
        plansDir: join(dir, 'shared', 'plans'),
        reportsDir: join(dir, 'reports'),
      },
      { STAGING_DATABASE_URL: stagingUrl },
      'two-workers',
    );
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await endLeasesOn((await testEnv()).client, workerEnv.PGSHIFT_TASK_QUEUE!);
    await closeTestEnv();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores on a second worker process the backup the first one took, from the shared backups directory', async () => {
    const whole = await loadPlan(BROKEN);
    await withClient(stagingUrl, (client) =>
      migrateUp(client, whole, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
    );
    const before = await withClient(stagingUrl, (client) => snapshotSchema(client));
    const plan = await new PlanStore(join(dir, 'shared', 'plans')).storePlan(whole);

    const first = await startWorkerProcess(workerEnv);
    workers.push(first);
    const env = await testEnv();
    const handle = await env.client.workflow.start('stagingRehearsal', {
      taskQueue: workerEnv.PGSHIFT_TASK_QUEUE!,
      workflowId: `rehearsal-two-workers-${Date.now()}`,
      args: [
        {
          environment: 'staging',
          plan,
          initiator: 'test',
          options: { skipFunctionalChecks: true },
        } satisfies StagingRehearsalInput,
      ],
    });

    // The first worker took the backup: stop it, and let a second process carry on.
    await waitFor('the backup step', async () => {
      const progress = await handle.query(progressQuery);
      return progress.steps.find((s) => s.name === 'backup')?.status === 'completed';
    });
    first.kill('SIGTERM');
    await new Promise((r) => first.once('exit', r));
    const second = await startWorkerProcess(workerEnv);
    workers.push(second);

    const result = (await handle.result()) as StagingRehearsalResult;
    expect(result.finalState).toBe('failed');
    expect(result.failure).toMatch(/002_rollback\.sql did not restore: /);
    expect(result.compensation).toMatch(/restored backup/);
    expect(await withClient(stagingUrl, (client) => snapshotSchema(client))).toEqual(before);

    const started = activityWorkers(await handle.fetchHistory());
    const backupBy = started.find(([type]) => type === 'backupDatabase')?.[1];
    const restoreBy = started.find(([type]) => type.startsWith('restoreDatabase'))?.[1];
    expect(backupBy).toMatch(new RegExp(`:${first.pid}$`));
    expect(restoreBy).toMatch(new RegExp(`:${second.pid}$`));

    // The manifest says where the backup was written and by which host.
    const backupsDir = join(dir, 'shared', 'backups', 'staging');
    const [name] = readdirSync(backupsDir);
    const manifest = await readManifest(join(backupsDir, name));
    expect(manifest.location).toEqual({ directory: join(backupsDir, name), host: hostname() });

    second.kill('SIGTERM');
    expect(await new Promise((r) => second.once('exit', r))).toBe(0);
  });
});
