/**
 * The real stack an emergency rollback runs against in tests: a PostgreSQL database that has
 * had a real deploy (migrations applied with the library, a real pg_dump backup taken first,
 * the example app's version switched through its admin endpoint, and the deploy recorded in
 * pgshift.deployments exactly as the deploy workflow records it), the example app with its
 * HTTP hooks, a notification webhook that records what it receives, and a pgshift worker with
 * the real activities on its own task queue.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import { createBackup, toBackupName } from '../../src/backup';
import { startRollback } from '../../src/cli/actions/rollback';
import { readPlanForWorkflow } from '../../src/cli/plan-input';
import { parseConfig, type PgshiftConfig, type PgshiftConfigInput } from '../../src/config';
import { withClient } from '../../src/migrations/database';
import { readLedger } from '../../src/migrations/ledger';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import { recordDeployment, type DeploymentRecord } from '../../src/records/deployments';
import {
  progressQuery,
  type ArchivePreservedDatabaseResult,
  type EmergencyRollbackInput,
  type EmergencyRollbackResult,
  type Progress,
} from '../../workflows/definitions';
import { startRecordingServer, type ReceivedRequest } from '../app/helpers';
import { createTestDatabase, query } from '../support/databases';
import { startTestWorker, type TestWorker } from '../support/temporal';

export const SHIPPED_MIGRATIONS = resolve(__dirname, '../../migrations');
export const FIXTURES = resolve(__dirname, '../fixtures');

export interface RollbackStack {
  environment: string;
  client: Client;
  worker: TestWorker;
  app: RunningExampleApp;
  databaseUrl: string;
  config: PgshiftConfig;
  reportsDir: string;
  /** The same config as a file, for the CLI (PGSHIFT_CONFIG). */
  configFile: string;
  /** Variables a CLI process needs: the database URL, the task queue, the config file. */
  cliEnv: NodeJS.ProcessEnv;
  /** Notifications the workflow sent (Slack-compatible JSON bodies). */
  notifications: ReceivedRequest[];
  /** Applies migrations up to `from`, then deploys like the deploy workflow: backup, app, migrations, record. */
  deploy(options: {
    plan: MigrationPlan;
    from: number;
    to: number;
    appVersion: string;
  }): Promise<DeploymentRecord>;
  /** Starts a rollback the way `pgshift rollback` does (environment lock included). */
  start(
    input: Omit<EmergencyRollbackInput, 'environment' | 'initiator'> & { initiator?: string },
  ): Promise<WorkflowHandle>;
  run(
    input: Omit<EmergencyRollbackInput, 'environment' | 'initiator'> & { initiator?: string },
  ): Promise<EmergencyRollbackResult>;
  /** Waits for the archive workflow a full rollback by restore started, and returns its result. */
  archive(result: EmergencyRollbackResult): Promise<ArchivePreservedDatabaseResult>;
  appVersion(): Promise<string>;
  ledgerVersion(): Promise<number>;
  columns(table: string): Promise<string[]>;
  tableExists(table: string): Promise<boolean>;
  deployments(): Promise<Record<string, unknown>[]>;
  notificationTitles(): string[];
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Production-like (approval of data-losing rollbacks); default true. */
  production?: boolean;
  emergency?: Record<string, unknown>;
  /** Overrides of `approvals` (allowedSigners, requireSignatures). */
  approvals?: Record<string, unknown>;
  /** The folder the worker takes pg_dump and pg_restore from (default: found on the system). */
  pgBinDir?: string;
}

export async function createRollbackStack(options: StackOptions = {}): Promise<RollbackStack> {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-rollback-test-'));
  const environment = `prod_${randomBytes(4).toString('hex')}`;
  const databaseUrlEnv = `${environment.toUpperCase()}_DATABASE_URL`;
  const databaseUrl = await createTestDatabase('rollback');
  const webhook = await startRecordingServer();
  const app = await startExampleApp({ stateFile: join(dir, 'app-state.json'), databaseUrl });
  const raw: PgshiftConfigInput = {
    reportsDir: join(dir, 'reports'),
    backupsDir: join(dir, 'backups'),
    environments: {
      [environment]: {
        databaseUrlEnv,
        requireRehearsalFrom: options.production === false ? null : 'staging',
        healthChecks: [
          { name: 'api', url: `${app.url}/api/health`, maxLatencyMs: 2000 },
          { name: 'database', url: `${app.url}/api/health/db`, maxLatencyMs: 2000 },
        ],
        checks: [{ name: 'database answers', sql: 'SELECT 1' }],
        app: {
          deploy: { url: `${app.url}/admin/deploy`, timeoutMs: 10_000 },
          rollback: { url: `${app.url}/admin/rollback`, timeoutMs: 10_000 },
          versionUrl: `${app.url}/api/version`,
        },
        // Not about signatures (test/rollback-workflow/signed-rollback.test.ts is): names as given.
        approvals: {
          roster: { 'engineering-lead': ['alice'], devops: ['carol'] },
          requireSignatures: false,
          ...options.approvals,
        },
        rollbackWindow: '1s',
        monitoringInterval: '500ms',
        notify: { webhookUrl: webhook.url },
        emergency: { approvers: ['alice', 'carol'], postMortemDueIn: '72h', ...options.emergency },
      },
    },
  };
  const config = parseConfig(raw, null);
  const configFile = join(dir, 'pgshift.config.json');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const env = { ...process.env, [databaseUrlEnv]: databaseUrl };
  const worker = await startTestWorker(
    createActivities({ config, env, ...(options.pgBinDir ? { pgBinDir: options.pgBinDir } : {}) }),
  );
  const client = worker.env.client;

  const appVersion = async () =>
    ((await (await fetch(`${app.url}/api/version`)).json()) as { version: string }).version;

  const archives: string[] = [];
  const stack: RollbackStack = {
    environment,
    client,
    worker,
    app,
    databaseUrl,
    config,
    reportsDir: join(dir, 'reports'),
    configFile,
    cliEnv: {
      ...process.env,
      [databaseUrlEnv]: databaseUrl,
      PGSHIFT_CONFIG: configFile,
      PGSHIFT_TASK_QUEUE: worker.taskQueue,
      PGSHIFT_USER: 'erin',
    },
    notifications: webhook.received,
    async deploy({ plan, from, to, appVersion: version }) {
      const options = { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test setup' };
      await withClient(databaseUrl, (c) => migrateUp(c, plan, { ...options, to: from }));
      const workflowId = `deploy-${environment}-${plan.checksum.slice(0, 12)}`;
      await withClient(databaseUrl, (c) =>
        recordDeployment(c, {
          workflowId,
          kind: 'deploy',
          planChecksum: plan.checksum,
          status: 'running',
        }),
      );
      const backup = await createBackup({
        databaseUrl,
        dir: resolve(config.backupsDir, environment),
        name: toBackupName(workflowId, 'before'),
      });
      const appVersionBefore = await appVersion();
      const deployed = await fetch(`${app.url}/admin/deploy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version }),
      });
      if (!deployed.ok) throw new Error(`deploying ${version} answered ${deployed.status}`);
      await withClient(databaseUrl, (c) =>
        migrateUp(c, plan, { ...options, appliedBy: workflowId, to }),
      );
      const record: DeploymentRecord = {
        workflowId,
        kind: 'deploy',
        planChecksum: plan.checksum,
        fromVersion: from,
        toVersion: to,
        backupId: backup.name,
        appVersionBefore,
        appVersionAfter: await appVersion(),
        status: 'completed',
      };
      await withClient(databaseUrl, (c) => recordDeployment(c, record));
      return record;
    },
    async start(input) {
      process.env.PGSHIFT_TASK_QUEUE = worker.taskQueue;
      const { handle } = await startRollback(client, {
        environment,
        initiator: 'erin',
        ...input,
      } as EmergencyRollbackInput);
      return handle;
    },
    async run(input) {
      const result = (await (await stack.start(input)).result()) as EmergencyRollbackResult;
      if (result.archiveWorkflowId) archives.push(result.archiveWorkflowId);
      return result;
    },
    async archive(result) {
      if (!result.archiveWorkflowId) throw new Error('the rollback started no archive workflow');
      return (await client.workflow
        .getHandle(result.archiveWorkflowId)
        .result()) as ArchivePreservedDatabaseResult;
    },
    appVersion,
    async ledgerVersion() {
      const ledger = await withClient(databaseUrl, (c) => readLedger(c));
      return Math.max(0, ...ledger.map((e) => e.version));
    },
    async columns(table) {
      const rows = await query<{ column_name: string }>(
        databaseUrl,
        `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      );
      return rows.map((r) => r.column_name);
    },
    async tableExists(table) {
      const rows = await query<{ t: string | null }>(
        databaseUrl,
        `SELECT to_regclass($1)::text AS t`,
        [`public.${table}`],
      );
      return rows[0].t !== null;
    },
    async deployments() {
      return query(databaseUrl, `SELECT * FROM pgshift.deployments ORDER BY started_at`);
    },
    notificationTitles() {
      return webhook.received.map((r) => {
        const body = JSON.parse(r.body) as { blocks?: { text?: { text?: string } }[] };
        return body.blocks?.[0]?.text?.text ?? '';
      });
    },
    async stop() {
      // An archive outlives its rollback: let it end before its worker goes.
      await Promise.allSettled(archives.map((id) => client.workflow.getHandle(id).result()));
      await worker.stop();
      await app.stop();
      await webhook.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export function loadPlan(dir: string): Promise<MigrationPlan> {
  return readPlanForWorkflow(dir);
}

/** The progress query of a running rollback (undefined until a worker has started it). */
export async function progressOf(handle: WorkflowHandle): Promise<Progress | undefined> {
  return handle.query(progressQuery).catch(() => undefined);
}
