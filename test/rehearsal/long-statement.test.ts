import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import type { StagingRehearsalInput, StagingRehearsalResult } from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { SHORT_HEARTBEAT_TIMEOUT_MS } from '../support/short-heartbeat-interceptors';
import {
  closeTestEnv,
  SHORT_HEARTBEAT_INTERCEPTORS,
  startTestWorker,
  type TestWorker,
} from '../support/temporal';

const LONG = resolve(__dirname, '../fixtures/rehearsal-long-statement');
/** The `SELECT pg_sleep(8)` of 002_backfill_account_flags.sql. */
const STATEMENT_MS = 8_000;

describe('a migration statement longer than three heartbeat timeouts', () => {
  let worker: TestWorker;
  let stagingUrl: string;

  beforeAll(async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'pgshift-long-'));
    stagingUrl = await createTestDatabase('staging_long');
    const config = parseConfig(
      { backupsDir: join(workDir, 'backups'), reportsDir: join(workDir, 'reports') },
      null,
    );
    worker = await startTestWorker(
      createActivities({
        config,
        env: { STAGING_DATABASE_URL: stagingUrl },
        scratchServerUrl: testServerUrl(),
      }),
      { workflowInterceptorModules: [SHORT_HEARTBEAT_INTERCEPTORS] },
    );
  });

  afterAll(async () => {
    await worker?.stop();
    await closeTestEnv();
  });

  it('is applied once, no activity attempt is retried, and the step reports what it applied', async () => {
    expect(STATEMENT_MS).toBeGreaterThan(3 * SHORT_HEARTBEAT_TIMEOUT_MS);
    const plan = await loadPlan(LONG);
    const handle = await worker.env.client.workflow.start('stagingRehearsal', {
      taskQueue: worker.taskQueue,
      workflowId: `rehearsal-long-statement-${Date.now()}`,
      args: [{ environment: 'staging', plan, initiator: 'test' } satisfies StagingRehearsalInput],
    });
    const result = (await handle.result()) as StagingRehearsalResult;
    expect(result.failure).toBeUndefined();
    expect(result.finalState).toBe('passed');
    expect(
      result.criteria.find((c) => c.name === 'All migrations applied successfully'),
    ).toMatchObject({ status: 'passed', detail: '3 applied, now at version 3' });

    const history = await handle.fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<string, string>();
    for (const event of events) {
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '');
    }
    const started = events
      .map((event) => event.activityTaskStartedEventAttributes)
      .filter((a) => !!a)
      .map((a) => ({ type: scheduled.get(String(a.scheduledEventId)), attempt: a.attempt }));
    // The long activities ran with the shortened heartbeat timeout…
    const applySchedule = events.find(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'applyMigrations',
    )?.activityTaskScheduledEventAttributes;
    expect(Number(applySchedule?.heartbeatTimeout?.seconds)).toBe(
      SHORT_HEARTBEAT_TIMEOUT_MS / 1000,
    );
    // …and every activity ran in exactly one attempt: none timed out, none was retried.
    expect(started.filter((s) => s.attempt !== 1)).toEqual([]);
    expect(events.filter((e) => e.activityTaskTimedOutEventAttributes)).toEqual([]);
    expect(started.map((s) => s.type)).toContain('runRollbackTests');
    expect(started.filter((s) => s.type === 'applyMigrations').length).toBe(
      events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'applyMigrations',
      ).length,
    );

    const ledger = await query<{ version: number }>(
      stagingUrl,
      'SELECT version FROM pgshift.migrations ORDER BY version',
    );
    expect(ledger.map((r) => r.version)).toEqual([1, 2, 3]);
  });
});
