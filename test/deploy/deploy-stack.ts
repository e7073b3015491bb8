/**
 * The real stack a production deploy runs against in tests (and in scripts/record-histories.ts):
 * a staging and a production PostgreSQL database, the example churn-saver application with
 * its HTTP deploy/rollback hooks and health URL, a notification webhook that records what it
 * receives, and one pgshift worker on its own task queue with the real activities.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../activities';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import { readPlanForWorkflow } from '../../src/cli/plan-input';
import { parseConfig, type PgshiftConfigInput } from '../../src/config';
import { withClient } from '../../src/migrations/database';
import type { MigrationPlan } from '../../src/migrations/types';
import { recordRehearsalCertificate } from '../../src/records/certificates';
import {
  approvalsQuery,
  approveSignal,
  progressQuery,
  type ApprovalState,
  type Progress,
  type ProductionDeployInput,
  type ProductionDeployResult,
} from '../../workflows/definitions';
import type { productionDeploy } from '../../workflows/production-deploy';
import { startRecordingServer, type ReceivedRequest } from '../app/helpers';
import { createTestDatabase, query } from '../support/databases';
import { startTestWorker, type TestWorker } from '../support/temporal';
import { waitFor } from '../support/wait';

export const FIXTURES = resolve(__dirname, '../fixtures');

/** Who holds which role in the tests' production policy. */
export const ROSTER = {
  'engineering-lead': ['alice'],
  'product-owner': ['bob'],
  devops: ['carol', 'alice'],
  executive: ['dave'],
};

/** The approvals that satisfy the default roles, one distinct person each. */
export const APPROVALS = [
  { role: 'engineering-lead', approver: 'alice' },
  { role: 'product-owner', approver: 'bob' },
  { role: 'devops', approver: 'carol' },
];

export interface DeployStack {
  client: Client;
  worker: TestWorker;
  taskQueue: string;
  app: RunningExampleApp;
  /** Notifications the workflow sent (Slack-compatible JSON bodies). */
  notifications: ReceivedRequest[];
  /** What the activities read database URLs from; PRODUCTION_DATABASE_URL changes per test. */
  env: NodeJS.ProcessEnv;
  stagingUrl: string;
  productionUrl: string;
  /** A fresh, empty production database for the next deploy. */
  useFreshProduction(): Promise<string>;
  /** Records a passing staging rehearsal of `plan` (what `pgshift rehearse` leaves behind). */
  certify(plan: MigrationPlan): Promise<void>;
  startDeploy(
    plan: MigrationPlan,
    options?: ProductionDeployInput['options'],
    initiator?: string,
  ): Promise<WorkflowHandle<typeof productionDeploy>>;
  /** The example app back at 1.0.0 with no fault. */
  resetApp(): Promise<void>;
  setFault(fault: {
    mode: 'none' | 'fail' | 'slow';
    latencyMs?: number;
    version?: string;
  }): Promise<void>;
  appVersion(): Promise<string>;
  /** The production config as a file, for a `pgshift worker --config` process. */
  configFile: string;
  /** Replaces the worker (same task queue): what a crashed and restarted worker does. */
  restartWorker(): Promise<void>;
  /** Stops the in-process worker (another one, e.g. a `pgshift worker` process, may take over). */
  stopWorker(): Promise<void>;
  /** Starts a new in-process worker on the same task queue. */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

export async function createDeployStack(
  production: Record<string, unknown> = {},
): Promise<DeployStack> {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-deploy-test-'));
  const webhook = await startRecordingServer();
  const app = await startExampleApp({ stateFile: join(dir, 'app-state.json') });
  const stagingUrl = await createTestDatabase('deploy_staging');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STAGING_DATABASE_URL: stagingUrl,
    PRODUCTION_DATABASE_URL: await createTestDatabase('deploy_production'),
  };
  const raw: PgshiftConfigInput = {
    reportsDir: join(dir, 'reports'),
    backupsDir: join(dir, 'backups'),
    environments: {
      staging: {},
      production: {
        requireRehearsalFrom: 'staging',
        lockTimeout: '5s',
        healthChecks: [{ name: 'api', url: `${app.url}/api/health`, maxLatencyMs: 2000 }],
        criticalTables: ['events', 'recovery_cases'],
        checks: [{ name: 'database answers', sql: 'SELECT 1' }],
        app: {
          deploy: { url: `${app.url}/admin/deploy`, timeoutMs: 10_000 },
          rollback: { url: `${app.url}/admin/rollback`, timeoutMs: 10_000 },
          versionUrl: `${app.url}/api/version`,
        },
        // Not about signatures (test/deploy/signed-approvals.test.ts is): names as given.
        approvals: { roster: ROSTER, expiry: '1h', reminderEvery: '1h', requireSignatures: false },
        monitoringWindow: '2s',
        monitoringInterval: '1s',
        notify: { webhookUrl: webhook.url },
        ...production,
      },
    },
  };
  const config = parseConfig(raw, null);
  const configFile = join(dir, 'pgshift.config.json');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const activities = createActivities({ config, env });
  let worker = await startTestWorker(activities);
  const taskQueue = worker.taskQueue;

  const stack: DeployStack = {
    get client() {
      return worker.env.client;
    },
    get worker() {
      return worker;
    },
    taskQueue,
    app,
    notifications: webhook.received,
    env,
    stagingUrl,
    get productionUrl() {
      return env.PRODUCTION_DATABASE_URL as string;
    },
    async useFreshProduction() {
      env.PRODUCTION_DATABASE_URL = await createTestDatabase('deploy_production');
      return env.PRODUCTION_DATABASE_URL;
    },
    async certify(plan) {
      await withClient(stagingUrl, (client) =>
        recordRehearsalCertificate(client, {
          planChecksum: plan.checksum,
          workflowId: `rehearsal-staging-${plan.checksum.slice(0, 12)}`,
          toVersion: Math.max(...plan.migrations.map((m) => m.version)),
        }),
      );
    },
    async startDeploy(plan, options = {}, initiator = 'erin') {
      return worker.env.client.workflow.start<typeof productionDeploy>('productionDeploy', {
        taskQueue,
        workflowId: `deploy-production-${plan.checksum.slice(0, 12)}-${randomBytes(3).toString('hex')}`,
        args: [{ environment: 'production', plan, initiator, options }],
      });
    },
    async resetApp() {
      await postJson(`${app.url}/admin/fault`, { mode: 'none' });
      if ((await stack.appVersion()) !== '1.0.0')
        await postJson(`${app.url}/admin/deploy`, { version: '1.0.0' });
    },
    async setFault(fault) {
      await postJson(`${app.url}/admin/fault`, fault);
    },
    async appVersion() {
      const response = await fetch(`${app.url}/api/version`);
      return ((await response.json()) as { version: string }).version;
    },
    configFile,
    async restartWorker() {
      await worker.stop({ keepLeases: true });
      worker = await startTestWorker(activities, { taskQueue });
    },
    async stopWorker() {
      await worker.stop({ keepLeases: true });
    },
    async startWorker() {
      worker = await startTestWorker(activities, { taskQueue });
    },
    async stop() {
      await worker.stop();
      await app.stop();
      await webhook.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

async function postJson(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
}

export function loadFixturePlan(name: string): Promise<MigrationPlan> {
  return readPlanForWorkflow(join(FIXTURES, name));
}

export { waitFor };

/** Waits until the deploy reaches `phase` (or ends: then it fails, naming where it ended). */
export async function waitForPhase(handle: WorkflowHandle, phase: string): Promise<Progress> {
  return waitFor(`phase ${phase} of ${handle.workflowId}`, async () => {
    const progress = await handle.query(progressQuery);
    if (progress.finalState && progress.phase !== phase)
      throw new Error(
        `the deploy ended (${progress.finalState}: ${progress.currentDetails}) before phase ${phase}`,
      );
    return progress.phase === phase ? progress : undefined;
  });
}

/** Waits until the approval gate is open (required roles known). */
export async function waitForApprovalGate(handle: WorkflowHandle): Promise<ApprovalState> {
  await waitForPhase(handle, 'awaiting-approval');
  return handle.query(approvalsQuery);
}

/** Sends the three default approvals by signal. */
export async function approveAll(
  handle: WorkflowHandle,
  approvals: { role: string; approver: string }[] = APPROVALS,
): Promise<void> {
  for (const approval of approvals) await handle.signal(approveSignal, approval);
}

/** The versions in the production ledger and whether the fixture's tables exist. */
export async function databaseState(
  url: string,
): Promise<{ versions: number[]; tables: string[]; deployments: Record<string, unknown>[] }> {
  const hasLedger = (
    await query<{ present: boolean }>(
      url,
      `SELECT to_regclass('pgshift.migrations') IS NOT NULL AS present`,
    )
  )[0].present;
  const versions = hasLedger
    ? (
        await query<{ version: number }>(
          url,
          'SELECT version FROM pgshift.migrations ORDER BY version',
        )
      ).map((r) => Number(r.version))
    : [];
  const tables = (
    await query<{ table_name: string }>(
      url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    )
  ).map((r) => r.table_name);
  const hasDeployments = (
    await query<{ present: boolean }>(
      url,
      `SELECT to_regclass('pgshift.deployments') IS NOT NULL AS present`,
    )
  )[0].present;
  const deployments = hasDeployments
    ? await query(
        url,
        'SELECT workflow_id, kind, status, from_version, to_version, backup_id, app_version_before, app_version_after, reason FROM pgshift.deployments',
      )
    : [];
  return { versions, tables, deployments };
}

export type { ProductionDeployResult };
