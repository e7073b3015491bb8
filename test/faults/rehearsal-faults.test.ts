import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities';
import { parseConfig } from '../../src/config';
import { findFreePort } from '../../src/temporal/free-port';
import { withClient } from '../../src/migrations/database';
import { loadPlan } from '../../src/migrations/files';
import { migrateUp } from '../../src/migrations/runner';
import { snapshotSchema } from '../../src/migrations/snapshot';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import type { StagingRehearsalInput, StagingRehearsalResult } from '../../workflows/definitions';
import { createTestDatabase, query, testServerUrl } from '../support/databases';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';
import { databaseName, historyText, runsOf } from './fault-support';

const CHURN = resolve(__dirname, '../fixtures/deploy-churn');
/** 003 creates a table, then its backfill breaks a CHECK on the rows staging holds. */
const HALFWAY = resolve(__dirname, '../fixtures/faults-rehearsal-halfway');

let workDir: string;
const workers: TestWorker[] = [];

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'pgshift-rehearsal-faults-'));
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
});

afterAll(async () => {
  await closeTestEnv();
});

/** A worker whose activities see `stagingUrl` as STAGING_DATABASE_URL; `extra` overrides deps. */
async function rehearsalWorker(
  stagingUrl: string,
  extra: Partial<ActivityDeps> = {},
): Promise<{ worker: TestWorker; backupsDir: string }> {
  const dir = mkdtempSync(join(workDir, 'run-'));
  const backupsDir = join(dir, 'backups');
  const config = parseConfig({ backupsDir, reportsDir: join(dir, 'reports') }, null);
  const worker = await startTestWorker(
    createActivities({
      config,
      env: { STAGING_DATABASE_URL: stagingUrl },
      scratchServerUrl: testServerUrl(),
      ...extra,
    }),
  );
  workers.push(worker);
  return { worker, backupsDir };
}

async function rehearse(worker: TestWorker, plan: MigrationPlan, name: string) {
  const handle = await worker.env.client.workflow.start('stagingRehearsal', {
    taskQueue: worker.taskQueue,
    workflowId: `rehearsal-fault-${name}-${Date.now()}`,
    args: [{ environment: 'staging', plan, initiator: 'test' } satisfies StagingRehearsalInput],
  });
  const result = (await handle.result()) as StagingRehearsalResult;
  return { result, history: await handle.fetchHistory() };
}

/** Staging at version 1 of `plan` with a few rows in `table`; returns its URL. */
async function stagingAtVersionOne(plan: MigrationPlan, insert: string): Promise<string> {
  const url = await createTestDatabase('staging_fault');
  await withClient(url, (client) =>
    migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
  );
  await query(url, insert);
  return url;
}

/** Everything a rehearsal may change: the schema, the ledger, and the rows of `table`. */
async function stagingState(url: string, table: string) {
  return {
    schema: await withClient(url, (client) => snapshotSchema(client)),
    ledger: await query(
      url,
      `SELECT version, name, forward_checksum, rollback_checksum, applied_at, applied_by
         FROM pgshift.migrations ORDER BY version`,
    ),
    rows: await query(url, `SELECT * FROM ${table} ORDER BY id`),
  };
}

function stepStatuses(result: StagingRehearsalResult): Record<string, string> {
  return Object.fromEntries(result.steps.map((s) => [s.name, s.status]));
}

describe('staging rehearsal when staging cannot be reached', () => {
  it(
    'fails naming the unreachable database, without its password, and changes nothing',
    { timeout: 180_000 },
    async () => {
      const port = await findFreePort();
      const password = 'Unreachable-S3cret-pw';
      const url = `postgresql://pgshift:${password}@127.0.0.1:${port}/staging_gone`;
      const { worker, backupsDir } = await rehearsalWorker(url);

      const { result, history } = await rehearse(worker, await loadPlan(CHURN), 'unreachable');

      expect(result.finalState).toBe('failed');
      expect(result.failure).toContain('ConnectionError');
      expect(result.failure).toContain(
        `cannot reach PostgreSQL at postgresql://pgshift:***@127.0.0.1:${port}/staging_gone`,
      );
      expect(stepStatuses(result)).toMatchObject({
        validate: 'failed',
        backup: 'pending',
        migrate: 'pending',
      });
      expect(result.backupId).toBeUndefined();
      expect(result.compensation).toBeUndefined();
      expect(JSON.stringify(result)).not.toContain(password);
      expect(historyText(history)).not.toContain(password);
      // An unreachable server may come back: the read is retried (5 attempts), then the run stops.
      expect(runsOf(history, 'readMigrationState')).toEqual([
        expect.objectContaining({ outcome: 'failed', attempts: 5 }),
      ]);
      expect(runsOf(history, 'applyMigrations')).toEqual([]);
      expect(existsSync(backupsDir)).toBe(false);
    },
  );

  it(
    'fails naming the database that refused the password, without it, and leaves staging untouched',
    { timeout: 180_000 },
    async () => {
      const stagingUrl = await createTestDatabase('staging_fault');
      await query(stagingUrl, 'CREATE TABLE customers (id bigint PRIMARY KEY, name text)');
      await query(stagingUrl, "INSERT INTO customers VALUES (1, 'ada'), (2, 'grace')");
      const before = await withClient(stagingUrl, (client) => snapshotSchema(client));
      const wrong = new URL(stagingUrl);
      wrong.password = 'Wrong-S3cret-pw';
      const { worker } = await rehearsalWorker(wrong.toString());

      const { result, history } = await rehearse(worker, await loadPlan(CHURN), 'password');

      expect(result.finalState).toBe('failed');
      expect(result.failure).toContain('refused the credentials');
      expect(result.failure).toContain(`/${databaseName(stagingUrl)}`);
      expect(result.failure).toContain('password authentication failed');
      for (const secret of ['Wrong-S3cret-pw', new URL(stagingUrl).password]) {
        expect(JSON.stringify(result)).not.toContain(secret);
        expect(historyText(history)).not.toContain(secret);
      }
      expect(result.backupId).toBeUndefined();
      expect(await withClient(stagingUrl, (client) => snapshotSchema(client))).toEqual(before);
      expect(await query(stagingUrl, "SELECT to_regnamespace('pgshift') AS ns")).toEqual([
        { ns: null },
      ]);
      expect(await query(stagingUrl, 'SELECT id, name FROM customers ORDER BY id')).toHaveLength(2);
    },
  );
});

describe('staging rehearsal when pg_dump is missing', () => {
  it(
    'fails at the backup step with what to install, having applied nothing',
    { timeout: 180_000 },
    async () => {
      const plan = await loadPlan(CHURN);
      const stagingUrl = await stagingAtVersionOne(
        plan,
        `INSERT INTO events (payload) VALUES ('{"n": 1}'), ('{"n": 2}')`,
      );
      const before = await stagingState(stagingUrl, 'events');
      const emptyBinDir = mkdtempSync(join(workDir, 'no-pg-tools-'));
      const { worker, backupsDir } = await rehearsalWorker(stagingUrl, { pgBinDir: emptyBinDir });

      const { result, history } = await rehearse(worker, plan, 'no-pg-dump');

      expect(result.finalState).toBe('failed');
      expect(result.failure).toContain('ToolMissingError');
      expect(result.failure).toContain(`pg_dump 15 or newer not found (not in ${emptyBinDir})`);
      expect(result.failure).toContain('postgresql-client-15');
      expect(stepStatuses(result)).toMatchObject({
        validate: 'completed',
        backup: 'failed',
        migrate: 'pending',
      });
      // Retrying cannot install pg_dump: one attempt, then the rehearsal stops.
      expect(runsOf(history, 'backupDatabase')).toEqual([
        expect.objectContaining({ outcome: 'failed', attempts: 1 }),
      ]);
      expect(runsOf(history, 'applyMigrations')).toEqual([]);
      expect(result.compensation).toBeUndefined();
      expect(await stagingState(stagingUrl, 'events')).toEqual(before);
      expect(existsSync(backupsDir) ? readdirSync(join(backupsDir, 'staging')) : []).toEqual([]);
    },
  );
});

describe('staging rehearsal when a migration fails half-way', () => {
  it(
    'compensates and leaves staging exactly as before: schema, ledger and rows',
    { timeout: 180_000 },
    async () => {
      const plan = await loadPlan(HALFWAY);
      const stagingUrl = await stagingAtVersionOne(
        plan,
        `INSERT INTO cases (status) VALUES ('open'), ('open'), ('closed')`,
      );
      const before = await stagingState(stagingUrl, 'cases');
      const { worker } = await rehearsalWorker(stagingUrl);

      const { result, history } = await rehearse(worker, plan, 'halfway');

      expect(result.finalState).toBe('failed');
      expect(result.failure).toContain('003_backfill_case_priorities.sql');
      expect(result.failure).toMatch(/case_priorities_priority_check/);
      expect(result.compensation).toBe(
        'rolled back to version 1 with the rollback files; schema identical to before',
      );
      expect(result.toVersion).toBe(1);
      expect(result.certificate).toBeUndefined();
      expect(stepStatuses(result)).toMatchObject({ backup: 'completed', migrate: 'failed' });
      expect(
        result.criteria.find((c) => c.name === 'All migrations applied successfully')?.status,
      ).toBe('failed');

      // 002 went in, 003 failed inside its transaction (its CREATE TABLE undone with it),
      // compensation rolled 002 back: nothing of the release remains, nothing was lost.
      const applies = runsOf(history, 'applyMigrations');
      expect(applies.map((r) => r.outcome)).toEqual(['completed', 'failed']);
      expect(applies[1].attempts).toBe(1);
      expect(runsOf(history, 'revertMigrations').map((r) => r.outcome)).toEqual(['completed']);
      expect(runsOf(history, 'restoreDatabase')).toEqual([]);
      expect(await stagingState(stagingUrl, 'cases')).toEqual(before);
    },
  );
});
