import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { generateMigrations, writeGuideFormat } from '../../bench/generate-migrations';
import { storePlanForWorkflow } from '../../src/cli/plan-input';
import { assertWorkflowInputSize } from '../../src/cli/workflow-runs';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import { PlanStore } from '../../src/migrations/plan-store';
import type { PlanRef } from '../../src/migrations/types';
import {
  rehearsalWorkflowId,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';

const SHIPPED = resolve(__dirname, '../../migrations');
const MB = 1024 * 1024;

/** A run's history encoded as the server stores it. */
async function encodedHistory(handle: { fetchHistory(): Promise<unknown> }): Promise<Buffer> {
  const history = (await handle.fetchHistory()) as temporal.api.history.v1.IHistory;
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish());
}

describe('staging rehearsal of a plan in the plan store', () => {
  let workDir: string;
  let plansDir: string;
  let stagingUrl: string;
  let tamperedUrl: string;
  let worker: TestWorker;

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'pgshift-plan-store-'));
    plansDir = join(workDir, 'plans');
    stagingUrl = await createTestDatabase('staging_large_plan');
    tamperedUrl = await createTestDatabase('staging_store_tampered');
    const settings = {
      plansDir,
      backupsDir: join(workDir, 'backups'),
      reportsDir: join(workDir, 'reports'),
    };
    const deps = {
      config: parseConfig(settings, null),
      env: { STAGING_DATABASE_URL: stagingUrl, TAMPERED_DATABASE_URL: tamperedUrl },
      scratchServerUrl: testServerUrl(),
    };
    worker = await startTestWorker(createActivities(deps));
  });

  afterAll(async () => {
    await worker?.stop();
    await closeTestEnv();
    rmSync(workDir, { recursive: true, force: true });
  });

  function start(plan: PlanRef, environment = 'staging') {
    const input = {
      environment,
      plan,
      initiator: 'test',
      options: { skipFunctionalChecks: true },
    } satisfies StagingRehearsalInput;
    assertWorkflowInputSize('stagingRehearsal', input);
    return worker.env.client.workflow.start('stagingRehearsal', {
      taskQueue: worker.taskQueue,
      workflowId: `${rehearsalWorkflowId(environment, plan.checksum)}-${Date.now()}`,
      args: [input],
    });
  }

  it('rehearses 400 migrations of 6 KB, 2.3 MB of SQL (over the old 1 MB limit), with a history under 2 MB that holds no SQL', async () => {
    // Real migrations are often 5–20 KB: the plan is over the limit in bytes, which is what the
    // limit was about, with a rehearsal (every rollback tested) of minutes, not a quarter hour.
    const generated = generateMigrations(400, { notesBytes: 5000 });
    const dir = writeGuideFormat(join(workDir, 'generated'), generated);
    const whole = await loadPlan(dir);
    const sqlBytes = whole.migrations.reduce(
      (sum, m) => sum + Buffer.byteLength(m.forward.sql) + Buffer.byteLength(m.rollback.sql),
      0,
    );
    expect(sqlBytes).toBeGreaterThan(2 * MB);
    expect(() => assertWorkflowInputSize('stagingRehearsal', { plan: whole })).toThrow();

    const plan = await storePlanForWorkflow(dir, plansDir);
    expect(plan.checksum).toBe(whole.checksum);
    const handle = await start(plan);
    const result = (await handle.result()) as StagingRehearsalResult;
    expect(result.failure).toBeUndefined();
    expect(result.finalState).toBe('passed');
    const ledger = await query<{ n: string }>(
      stagingUrl,
      'SELECT count(*) AS n FROM pgshift.migrations',
    );
    expect(Number(ledger[0].n)).toBe(400);

    const encoded = await encodedHistory(handle);
    expect(encoded.length).toBeLessThan(2 * MB);
    expect(encoded.includes('CREATE TABLE IF NOT EXISTS bench_t001')).toBe(false);
    expect(encoded.includes('-- Note: verified on a copy of production')).toBe(false);
  }, 1_200_000);

  it('refuses a plan whose stored file was altered, naming its checksum and the store, changing nothing', async () => {
    const whole = await loadPlan(SHIPPED);
    const store = new PlanStore(plansDir);
    const plan = await store.storePlan(whole);
    const file = whole.migrations[2].forward;
    writeFileSync(store.filePath(file.checksum), file.sql + '\nDROP TABLE customers;\n');
    const result = (await (await start(plan, 'tampered')).result()) as StagingRehearsalResult;
    expect(result.finalState).toBe('failed');
    expect(result.failure).toContain(
      `PlanStoreError: the plan store file ${store.filePath(file.checksum)} (${file.file} of plan ${whole.checksum.slice(0, 12)}) does not match its checksum ${file.checksum}`,
    );
    const tables = await query(tamperedUrl, "SELECT to_regclass('pgshift.migrations') AS t");
    expect(tables[0].t).toBeNull();

    // A file missing from the store (a worker that does not share it) is refused the same way.
    unlinkSync(store.filePath(file.checksum));
    const again = (await (await start(plan, 'tampered')).result()) as StagingRehearsalResult;
    expect(again.finalState).toBe('failed');
    expect(again.failure).toContain(
      `PlanStoreError: the plan store ${store.directory} has no ${file.file} of plan ${whole.checksum.slice(0, 12)}, sha256 ${file.checksum}`,
    );
  });
});
