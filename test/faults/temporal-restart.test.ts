import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../activities/migrate';
import { findFreePort } from '../../src/temporal/free-port';
import { loadPlan } from '../../src/migrations/files';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import type { StagingRehearsalInput, StagingRehearsalResult } from '../../workflows/definitions';
import { createTestDatabase, query } from '../support/databases';
import { uniqueTaskQueue } from '../support/temporal';
import {
  databaseName,
  isRunning,
  runsOf,
  startWorkerProcess,
  waitUntil,
  type WorkerProcess,
} from './fault-support';

/** 002 sleeps 3 s (`pg_sleep(3)`): the Temporal server is stopped while it runs. */
const SLOW = resolve(__dirname, '../fixtures/rehearsal-slow');

describe('staging rehearsal when the Temporal server restarts', () => {
  let dir: string;
  let dbFile: string;
  let port: number;
  let server: DevServer | undefined;
  let connection: Connection | undefined;
  const workers: WorkerProcess[] = [];

  /** This test's own dev server, persisted in `dbFile`, always on the same port. */
  const startServer = () =>
    startDevServer({
      dbFile,
      port,
      headless: true,
      logFile: join(dir, 'temporal.log'),
      log: () => undefined,
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgshift-temporal-restart-'));
    dbFile = join(dir, 'temporal.db');
    port = await findFreePort();
    server = await startServer();
  });

  afterAll(async () => {
    for (const worker of workers) await worker.kill();
    await connection?.close();
    await server?.stop();
  });

  it(
    'resumes after the server comes back on the same database file, applying nothing twice',
    { timeout: 240_000 },
    async () => {
      const stagingUrl = await createTestDatabase('staging_restart');
      const configPath = join(dir, 'pgshift.config.json');
      writeFileSync(
        configPath,
        JSON.stringify({ backupsDir: join(dir, 'backups'), reportsDir: join(dir, 'reports') }),
      );
      const taskQueue = uniqueTaskQueue('restart');
      const worker = await startWorkerProcess({
        TEMPORAL_ADDRESS: server!.address,
        TEMPORAL_NAMESPACE: 'default',
        PGSHIFT_CONFIG: configPath,
        STAGING_DATABASE_URL: stagingUrl,
        PGSHIFT_TASK_QUEUE: taskQueue,
      });
      workers.push(worker);
      connection = await Connection.connect({ address: server!.address });
      const client = new Client({ connection, namespace: 'default' });
      const plan = await loadPlan(SLOW);
      const handle = await client.workflow.start('stagingRehearsal', {
        taskQueue,
        workflowId: `rehearsal-restart-${Date.now()}`,
        args: [
          {
            environment: 'staging',
            plan,
            initiator: 'test',
            // No rollback rehearsal on staging: each migration is applied exactly once.
            options: { rollbackTargets: [] },
          } satisfies StagingRehearsalInput,
        ],
      });

      await waitUntil('migration 002 to run', () =>
        isRunning(databaseName(stagingUrl), 'pg_sleep(3)'),
      );
      await server!.stop();
      server = undefined;
      server = await startServer();
      expect(server.address).toBe(`127.0.0.1:${port}`);

      // The same worker process reconnects by itself; the client's channel does too.
      const result = (await handle.result()) as StagingRehearsalResult;
      expect(result.failure).toBeUndefined();
      expect(result.finalState).toBe('passed');
      expect(worker.child.exitCode).toBeNull();

      const ledger = await query<{ version: number }>(
        stagingUrl,
        'SELECT version FROM pgshift.migrations ORDER BY version',
      );
      expect(ledger.map((r) => r.version)).toEqual([1, 2, 3]);
      // Whatever attempt completed reported only what it applied itself: no version twice.
      const applied = runsOf(await handle.fetchHistory(), 'applyMigrations')
        .filter((r) => r.outcome === 'completed')
        .flatMap((r) => (r.result as RunSummary).applied.map((m) => m.version));
      expect(new Set(applied).size).toBe(applied.length);
      expect(applied.every((v) => [1, 2, 3].includes(v))).toBe(true);

      expect(await worker.stop()).toBe(0);
    },
  );
});
