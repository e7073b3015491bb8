/**
 * The real stack a fleet rollout runs against in tests: one PostgreSQL database per member
 * (each at version 1 of the fleet fixture, holding a few events), a config whose fleets name
 * them, and a pgshift worker on its own task queue with the real activities.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type {
  Client,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { createActivities } from '../../activities';
import { readPlanForWorkflow } from '../../src/cli/plan-input';
import { conventionalDatabaseUrlEnv, parseConfig, type PgshiftConfigInput } from '../../src/config';
import { withClient } from '../../src/migrations/database';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import { approveSignal } from '../../workflows/definitions';
import {
  fleetOverviewQuery,
  type FleetDeployInput,
  type FleetOverview,
  type FleetStage,
} from '../../workflows/fleet/definitions';
import type { fleetDeploy } from '../../workflows/fleet/fleet-deploy';
import { createTestDatabase, query } from '../support/databases';
import { startTestWorker, type TestWorker } from '../support/temporal';
import { waitFor } from '../support/wait';

const CHURN = resolve(__dirname, '../fixtures/deploy-churn');

/**
 * The fleet's plan, written into `dir`: 001 and 002 of the deploy-churn fixture, then a 003
 * that refuses a tenant holding an event payload that is not a JSON object (a CHECK).
 */
export function writeFleetFixture(dir: string): string {
  const fixture = join(dir, 'migrations');
  mkdirSync(fixture);
  for (const file of readdirSync(CHURN).filter((f) => /^00[12]_/.test(f)))
    copyFileSync(join(CHURN, file), join(fixture, file));
  const header = (kind: string, file: string) =>
    `-- ${kind}: ${file}\n${kind === 'Migration' ? '-- Description: Every event payload is a JSON object' : '-- Reverses migration: 003_check_event_payloads.sql'}\n-- Author: pgshift tests\n-- Date: 2025-02-02\n\n`;
  writeFileSync(
    join(fixture, '003_check_event_payloads.sql'),
    header('Migration', '003_check_event_payloads.sql') +
      `ALTER TABLE events ADD CONSTRAINT events_payload_is_object CHECK (jsonb_typeof(payload) = 'object');\n`,
  );
  writeFileSync(
    join(fixture, '003_rollback.sql'),
    header('Rollback', '003_rollback.sql') +
      'BEGIN;\n\nALTER TABLE events DROP CONSTRAINT IF EXISTS events_payload_is_object;\n\nCOMMIT;\n',
  );
  return fixture;
}

export const FLEET_APPROVALS = [
  { role: 'engineering-lead', approver: 'alice' },
  { role: 'devops', approver: 'carol' },
];

/** The tests' fleet approvals: alice and carol; signed with the keys of `allowedSigners`. */
export function fleetApprovals(allowedSigners?: string) {
  return {
    requiredRoles: ['engineering-lead', 'devops'],
    highRiskRoles: [],
    roster: { 'engineering-lead': ['alice'], devops: ['carol'] },
    ...(allowedSigners ? { allowedSigners } : {}),
  };
}

export interface FleetStack {
  client: Client;
  taskQueue: string;
  env: NodeJS.ProcessEnv;
  configFile: string;
  plan: MigrationPlan;
  /** The folder of the plan's files (for `--dir`). */
  fixtureDir: string;
  /** Member name → database URL. */
  urls: Record<string, string>;
  startFleet(
    fleet: string,
    options?: FleetDeployInput['options'],
    /** A chosen workflow id, and the initiator's signed start (bound to that id). */
    start?: { workflowId: string; statement?: string; signature?: string },
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof fleetDeploy>>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** `tenant-01` … */
export function memberNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(2, '0')}`);
}

export async function createFleetStack(
  fleets: Record<string, { members: string[] } & Record<string, unknown>>,
  /** Extra settings of member environments (a production tier). */
  environments: Record<string, Record<string, unknown>> = {},
): Promise<FleetStack> {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-fleet-test-'));
  const fixtureDir = writeFleetFixture(dir);
  const plan = await readPlanForWorkflow(fixtureDir);
  const env: NodeJS.ProcessEnv = { ...process.env };
  const urls: Record<string, string> = {};
  for (const member of Object.values(fleets).flatMap((f) => f.members)) {
    const url = await createTestDatabase('fleet');
    await withClient(url, (client) =>
      migrateUp(client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'setup', to: 1 }),
    );
    await query(
      url,
      `INSERT INTO events (payload) SELECT jsonb_build_object('n', g) FROM generate_series(1, 5) g`,
    );
    urls[member] = url;
    env[conventionalDatabaseUrlEnv(member)] = url;
  }
  const raw: PgshiftConfigInput = {
    reportsDir: join(dir, 'reports'),
    backupsDir: join(dir, 'backups'),
    // Not about monitoring: a probe slowed by this busy test host must not fail a database.
    environments: Object.fromEntries(
      Object.keys(urls).map((member) => [
        member,
        { thresholds: { performanceDegradationPercent: 100_000 }, ...environments[member] },
      ]),
    ),
    fleets: Object.fromEntries(
      Object.entries(fleets).map(([name, { members, ...settings }]) => [
        name,
        {
          environments: members,
          approvals: fleetApprovals(),
          monitoringWindow: '1s',
          monitoringInterval: '1s',
          ...settings,
        },
      ]),
    ),
  };
  const config = parseConfig(raw, null);
  const configFile = join(dir, 'pgshift.config.json');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const activities = createActivities({ config, env });
  let worker: TestWorker | undefined = await startTestWorker(activities);
  const taskQueue = worker.taskQueue;
  const client = worker.env.client;
  return {
    client,
    taskQueue,
    env,
    configFile,
    plan,
    fixtureDir,
    urls,
    startFleet: (fleet, options, start) => {
      const { workflowId = `fleet-${fleet}-${randomBytes(3).toString('hex')}`, ...signed } =
        start ?? {};
      return client.workflow.start<typeof fleetDeploy>('fleetDeploy', {
        taskQueue,
        workflowId,
        args: [{ fleet, plan, initiator: 'erin', ...signed, ...(options ? { options } : {}) }],
      });
    },
    async stopWorker() {
      await worker?.stop({ keepLeases: true });
      worker = undefined;
    },
    async startWorker() {
      worker = await startTestWorker(activities, { taskQueue });
    },
    async stop() {
      await worker?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function approveFleet(client: Client, handle: WorkflowHandle): Promise<void> {
  await waitForStage(client, handle, 'approving');
  for (const approval of FLEET_APPROVALS) await handle.signal(approveSignal, approval);
}

/** Waits until the rollout reaches `stage` (any run of its chain). */
export async function waitForStage(
  client: Client,
  handle: WorkflowHandle,
  stage: FleetStage,
  timeoutMs = 240_000,
  /** Fail at once when the rollout is seen in this stage instead. */
  unless?: FleetStage,
): Promise<FleetOverview> {
  const latest = client.workflow.getHandle(handle.workflowId);
  let last: FleetOverview | undefined;
  const seen = await waitFor(
    `stage ${stage} of ${handle.workflowId}`,
    async () => {
      last = await latest.query(fleetOverviewQuery);
      return last.stage === stage || last.stage === unless ? last : undefined;
    },
    timeoutMs,
  ).catch((error: Error) => {
    error.message += `; last seen: ${JSON.stringify(last)}`;
    throw error;
  });
  if (seen.stage !== stage)
    throw new Error(`${handle.workflowId} is ${seen.stage}, not ${stage}: ${JSON.stringify(seen)}`);
  return seen;
}

/** The versions in a member's ledger. */
export async function versionsOf(url: string): Promise<number[]> {
  return (
    await query<{ version: number }>(url, 'SELECT version FROM pgshift.migrations ORDER BY version')
  ).map((r) => Number(r.version));
}
