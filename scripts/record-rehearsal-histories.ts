/**
 * Regenerates test/histories/staging-rehearsal-*.json: runs two representative staging
 * rehearsals against a real PostgreSQL and a real Temporal dev server (started here, as the
 * tests' global setup does, unless TEST_DATABASE_URL / TEMPORAL_ADDRESS are set) and writes
 * each run's event history:
 * - passed: test/fixtures/deploy-churn on an empty staging (rollback rehearsal, rollback
 *   tests, functional SQL checks, certificate);
 * - compensated: test/fixtures/faults-rehearsal-halfway on a staging at version 1 holding
 *   cases, where 003 fails half-way and compensation rolls staging back to version 1;
 * - lock-wait: test/fixtures/rehearsal-lock-wait on a staging at version 1 where a session in
 *   an open transaction reads customers: 002 waits for it (the apply activity's `lockWait`
 *   signals), then applies when it commits.
 * test/rehearsal/replay.test.ts replays them against the current workflow code.
 *
 *   npx tsx scripts/record-rehearsal-histories.ts [scenario…]   # default: all
 *
 * Re-record only for an intended, patched() change; keep old files for rehearsals still running.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActivities } from '../activities';
import { parseConfig } from '../src/config';
import type { WorkflowHandle } from '@temporalio/client';
import type { Client } from 'pg';
import { connect, withClient } from '../src/migrations/database';
import { loadPlan } from '../src/migrations/files';
import { migrateUp } from '../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../src/migrations/types';
import { createTestDatabase, query, testServerUrl } from '../test/support/databases';
import { startTestWorker, testEnv } from '../test/support/temporal';
import { runRecording, saveHistory } from './recording';
import {
  progressQuery,
  rehearsalWorkflowId,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../workflows/definitions';

const ROOT = join(__dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures');

interface Scenario {
  name: string;
  expected: StagingRehearsalResult['finalState'];
  fixture: string;
  /** Brings a fresh staging database to the state the rehearsal starts from. */
  prepare(url: string, plan: MigrationPlan): Promise<void>;
  /** What the run must show besides its final state (a failed run must be compensated). */
  check(result: StagingRehearsalResult): boolean;
  /** Runs beside the rehearsal, before its result is awaited. */
  during?(handle: WorkflowHandle): Promise<void>;
}

/** The `lock-wait` scenario's blocking session (opened by prepare, committed by during). */
let blocker: Client | undefined;

/** Staging at version 1 of `plan`, with `rows` inserted by one statement. */
async function atVersionOne(url: string, plan: MigrationPlan, rows: string): Promise<void> {
  await withClient(url, (client) =>
    migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
  );
  await query(url, rows);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'passed',
    expected: 'passed',
    fixture: 'deploy-churn',
    prepare: async () => undefined,
    check: (result) => result.certificate !== undefined,
  },
  {
    name: 'compensated',
    expected: 'failed',
    fixture: 'faults-rehearsal-halfway',
    prepare: (url, plan) =>
      atVersionOne(url, plan, `INSERT INTO cases (status) VALUES ('open'), ('open'), ('closed')`),
    check: (result) => /rolled back to version 1/.test(String(result.compensation ?? '')),
  },
  {
    name: 'lock-wait',
    expected: 'passed',
    fixture: 'rehearsal-lock-wait',
    async prepare(url, plan) {
      await atVersionOne(url, plan, `INSERT INTO customers VALUES (1, 'a@example.com')`);
      blocker = await connect(url, { application_name: 'billing' });
      await blocker.query('BEGIN; SELECT count(*) FROM customers');
    },
    async during(handle) {
      // Commit once the run's details name the blocker (the lockWait signal is in its history).
      for (let tries = 0; ; tries++) {
        const { currentDetails, finalState } = await handle.query(progressQuery);
        if (currentDetails.includes('billing, idle in transaction') || finalState) break;
        if (tries > 600) throw new Error('the rehearsal never showed the lock wait');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await blocker?.query('COMMIT');
      await blocker?.end();
    },
    check: (result) => result.certificate !== undefined,
  },
];

runRecording('record-rehearsal-histories', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-record-rehearsals-'));
  const only = process.argv.slice(2);
  try {
    for (const scenario of SCENARIOS.filter((s) => !only.length || only.includes(s.name))) {
      const stagingUrl = await createTestDatabase('staging_record');
      const plan = await loadPlan(join(FIXTURES, scenario.fixture));
      await scenario.prepare(stagingUrl, plan);
      const config = parseConfig(
        {
          backupsDir: join(dir, 'backups'),
          reportsDir: join(dir, 'reports'),
          environments: {
            staging: { checks: [{ name: 'database answers', sql: 'SELECT 1' }] },
          },
        },
        null,
      );
      const worker = await startTestWorker(
        createActivities({
          config,
          env: { STAGING_DATABASE_URL: stagingUrl },
          scratchServerUrl: testServerUrl(),
          // As the worker does: the apply activity signals what a migration waits for.
          client: () => testEnv().then((env) => env.client),
        }),
      );
      try {
        const handle = await worker.env.client.workflow.start('stagingRehearsal', {
          taskQueue: worker.taskQueue,
          workflowId: `${rehearsalWorkflowId('staging', plan.checksum)}-${randomBytes(3).toString('hex')}`,
          args: [
            { environment: 'staging', plan, initiator: 'erin' } satisfies StagingRehearsalInput,
          ],
        });
        await scenario.during?.(handle);
        const result = (await handle.result()) as StagingRehearsalResult;
        if (result.finalState !== scenario.expected || !scenario.check(result))
          throw new Error(
            `scenario ${scenario.name} ended ${result.finalState} (${result.failure ?? 'no failure'}; ${result.compensation ?? 'no compensation'}), expected ${scenario.expected}`,
          );
        await saveHistory(
          `staging-rehearsal-${scenario.name}`,
          handle,
          'stagingRehearsal',
          result.finalState,
        );
      } finally {
        await worker.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
