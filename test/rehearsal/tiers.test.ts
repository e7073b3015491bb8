import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { EmergencyPolicy } from '../../activities/impact';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import type { StagingRehearsalInput, StagingRehearsalResult } from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';

const SHIPPED = resolve(__dirname, '../../migrations');

describe('environment tiers enforced by the worker', () => {
  let worker: TestWorker;
  let liveUrl: string;
  let activities: ReturnType<typeof createActivities>;

  beforeAll(async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'pgshift-tiers-'));
    liveUrl = await createTestDatabase('tier_live');
    const config = parseConfig(
      {
        backupsDir: join(workDir, 'backups'),
        reportsDir: join(workDir, 'reports'),
        environments: {
          live: { tier: 'production', emergency: { approvers: ['alice'] } },
          qa: { tier: 'staging' },
        },
      },
      null,
    );
    activities = createActivities({
      config,
      env: { LIVE_DATABASE_URL: liveUrl, QA_DATABASE_URL: liveUrl },
      scratchServerUrl: testServerUrl(),
    });
    worker = await startTestWorker(activities);
  });

  afterAll(async () => {
    await worker?.stop();
    await closeTestEnv();
  });

  it('refuses a rehearsal on a production-tier environment, however the workflow was started, changing nothing', async () => {
    const plan = await loadPlan(SHIPPED);
    // Started straight through the Temporal client, as the temporal CLI would: no pgshift CLI check.
    const result = (await worker.env.client.workflow.execute('stagingRehearsal', {
      taskQueue: worker.taskQueue,
      workflowId: `rehearsal-live-${Date.now()}`,
      args: [{ environment: 'live', plan, initiator: 'test' } satisfies StagingRehearsalInput],
    })) as StagingRehearsalResult;
    expect(result.finalState).toBe('failed');
    expect(result.failure).toMatch(
      /refusing to rehearse on live: it is a production-tier environment \(environments\.live\.tier/,
    );
    expect(result.backupId).toBeUndefined();
    const ledger = await query(liveUrl, "SELECT to_regclass('pgshift.migrations') AS t");
    expect(ledger[0].t).toBeNull();
  });

  it('asks the data-loss approval in every production-tier environment, whatever its name', async () => {
    const policyOf = async (environment: string) =>
      (await new MockActivityEnvironment().run(activities.loadEmergencyPolicy, {
        environment,
      })) as EmergencyPolicy;
    expect((await policyOf('live')).production).toBe(true);
    expect((await policyOf('production')).production).toBe(true);
    expect((await policyOf('qa')).production).toBe(false);
  });
});
