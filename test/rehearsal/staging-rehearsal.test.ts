import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import { migrateUp } from '../../src/migrations/runner';
import { withClient } from '../../src/migrations/database';
import { snapshotSchema } from '../../src/migrations/snapshot';
import { DEFAULT_RUNNER_OPTIONS } from '../../src/migrations/types';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import {
  progressQuery,
  rehearsalWorkflowId,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';

const SHIPPED = resolve(__dirname, '../../migrations');
const BROKEN = resolve(__dirname, '../fixtures/rehearsal-broken-rollback');

describe('staging rehearsal workflow', () => {
  let stagingUrl: string;
  let app: RunningExampleApp;
  let worker: TestWorker;
  let workDir: string;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'pgshift-rehearsal-'));
    stagingUrl = await createTestDatabase('staging');
    app = await startExampleApp({
      port: 0,
      stateFile: join(workDir, 'app.json'),
      databaseUrl: stagingUrl,
    });
    const config = parseConfig(
      {
        backupsDir: join(workDir, 'backups'),
        reportsDir: join(workDir, 'reports'),
        environments: {
          staging: {
            criticalTables: ['events', 'recovery_cases'],
            healthChecks: [
              { name: 'api', url: `${app.url}/api/health` },
              { name: 'api-db', url: `${app.url}/api/health/db` },
            ],
            checks: [{ name: 'dashboard view answers', sql: 'SELECT 1', expect: 'non-empty' }],
          },
        },
      },
      null,
    );
    const activities = createActivities({
      config,
      env: { STAGING_DATABASE_URL: stagingUrl },
      scratchServerUrl: testServerUrl(),
    });
    worker = await startTestWorker(activities);
  });

  afterAll(async () => {
    await worker?.stop();
    await app?.stop();
    await closeTestEnv();
  });

  async function rehearse(dir: string, options: StagingRehearsalInput['options'] = {}) {
    const plan = await loadPlan(dir);
    const handle = await worker.env.client.workflow.start('stagingRehearsal', {
      taskQueue: worker.taskQueue,
      workflowId: `${rehearsalWorkflowId('staging', plan.checksum)}-${Date.now()}`,
      args: [
        {
          environment: 'staging',
          plan,
          initiator: 'test',
          options,
        } satisfies StagingRehearsalInput,
      ],
    });
    return { plan, handle, result: (await handle.result()) as StagingRehearsalResult };
  }

  it('passes on the shipped migrations and leaves staging at the new version with a certificate', async () => {
    const { plan, handle, result } = await rehearse(SHIPPED);
    expect(result.failure).toBeUndefined();
    expect(result.finalState).toBe('passed');
    const top = Math.max(...plan.migrations.map((m) => m.version));
    const ledger = await query<{ version: number }>(
      stagingUrl,
      'SELECT version FROM pgshift.migrations ORDER BY version',
    );
    expect(ledger.map((r) => r.version)).toEqual(plan.migrations.map((m) => m.version));
    expect(result.toVersion).toBe(top);
    expect(result.certificate?.planChecksum).toBe(plan.checksum);
    const certificates = await query(stagingUrl, 'SELECT plan_checksum FROM pgshift.rehearsals');
    expect(certificates).toEqual([{ plan_checksum: plan.checksum }]);
    expect(Object.fromEntries(result.criteria.map((c) => [c.name, c.status]))).toMatchObject({
      'All migrations applied successfully': 'passed',
      'Rollback procedures tested and verified': 'passed',
      'Application performance within thresholds': 'passed',
      'Security measures active': 'passed',
      'Core functionality working': 'passed',
      'Data accuracy verified': 'passed',
      'User workflows functional': 'passed',
    });
    expect(result.steps.every((s) => s.status === 'completed')).toBe(true);
    expect(result.reportPath && existsSync(result.reportPath)).toBeTruthy();
    expect(readFileSync(result.reportPath!, 'utf8')).toContain('# Staging rehearsal PASSED');
    const progress = await handle.query(progressQuery);
    expect(progress.finalState).toBe('passed');
  });

  it('fails on a broken rollback and leaves staging exactly as it was', async () => {
    const brokenStaging = await createTestDatabase('staging_broken');
    const plan = await loadPlan(BROKEN);
    await withClient(brokenStaging, (client) =>
      migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
    );
    const before = await withClient(brokenStaging, (client) => snapshotSchema(client));
    const ledgerBefore = await query(
      brokenStaging,
      'SELECT version, forward_checksum FROM pgshift.migrations ORDER BY version',
    );

    const config = parseConfig(
      {
        backupsDir: join(workDir, 'backups'),
        reportsDir: join(workDir, 'reports'),
        environments: {},
      },
      null,
    );
    const own = await startTestWorker(
      createActivities({
        config,
        env: { STAGING_DATABASE_URL: brokenStaging },
        scratchServerUrl: testServerUrl(),
      }),
    );
    try {
      const handle = await own.env.client.workflow.start('stagingRehearsal', {
        taskQueue: own.taskQueue,
        workflowId: `rehearsal-broken-${Date.now()}`,
        args: [{ environment: 'staging', plan, initiator: 'test' } satisfies StagingRehearsalInput],
      });
      const result = (await handle.result()) as StagingRehearsalResult;
      expect(result.finalState).toBe('failed');
      expect(result.failure).toMatch(/sequence .*case_numbers/);
      expect(result.failure).toMatch(/002_rollback\.sql did not restore: /);
      expect(result.compensation).toMatch(/restored backup/);
      expect(result.certificate).toBeUndefined();
      const after = await withClient(brokenStaging, (client) => snapshotSchema(client));
      expect(after).toEqual(before);
      const ledgerAfter = await query(
        brokenStaging,
        'SELECT version, forward_checksum FROM pgshift.migrations ORDER BY version',
      );
      expect(ledgerAfter).toEqual(ledgerBefore);
      expect(
        result.criteria.find((c) => c.name === 'Rollback procedures tested and verified')?.status,
      ).toBe('failed');
    } finally {
      await own.stop();
    }
  });

  it('refuses a plan whose files were altered after validation, changing nothing', async () => {
    const target = await createTestDatabase('staging_tamper');
    const plan = await loadPlan(SHIPPED);
    plan.migrations[2].forward.sql += '\nDROP TABLE customers;';
    const config = parseConfig(
      { backupsDir: join(workDir, 'backups'), reportsDir: join(workDir, 'reports') },
      null,
    );
    const own = await startTestWorker(
      createActivities({
        config,
        env: { STAGING_DATABASE_URL: target },
        scratchServerUrl: testServerUrl(),
      }),
    );
    try {
      const result = (await own.env.client.workflow.execute('stagingRehearsal', {
        taskQueue: own.taskQueue,
        workflowId: `rehearsal-tamper-${Date.now()}`,
        args: [{ environment: 'staging', plan, initiator: 'test' } satisfies StagingRehearsalInput],
      })) as StagingRehearsalResult;
      expect(result.finalState).toBe('failed');
      expect(result.failure).toMatch(/003_create_events\.sql does not match its checksum/);
      const tables = await query(target, "SELECT to_regclass('pgshift.migrations') AS t");
      expect(tables[0].t).toBeNull();
    } finally {
      await own.stop();
    }
  });
});
