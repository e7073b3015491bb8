import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { createActivities } from '../../../activities';
import {
  approveRollbackSignal,
  approveSignal,
  approvalsQuery,
  deployWorkflowId,
  emergencyRollbackResultSchema,
  environmentLockId,
  productionDeployResultSchema,
  progressQuery,
  rehearsalWorkflowId,
  stagingRehearsalResultSchema,
  type EmergencyRollbackInput,
  type ProductionDeployInput,
  type ProductionDeployResult,
  type StagingRehearsalInput,
} from '../../../workflows/definitions';
import { signDeployStart } from '../../cli/actions/deploy';
import { signRollbackStart } from '../../cli/actions/rollback';
import { storePlanForWorkflow } from '../../cli/plan-input';
import { signDecision, type StatementTarget } from '../../cli/signing';
import { followProgress, startPgshiftWorkflow, type StartRequest } from '../../cli/workflow-runs';
import { withClient } from '../../migrations/database';
import { currentVersion } from '../../migrations/ledger';
import type { PlanRef } from '../../migrations/types';
import type { DemoPerson } from '../local/demo-keys';
import { startLocalStack, type LocalStack } from '../local/stack';
import { createPgshiftWorker, installRuntime } from '../../temporal/worker';
import { webUiLink } from '../../temporal/connection';
import { formatVersion } from '../../format';

export interface DemoOptions {
  /** Leave the stack running at the end (to explore the Web UI). */
  keep?: boolean;
  /** Folder of the demo's state (recreated): default .pgshift/demo. */
  dir?: string;
  migrationsDir?: string;
  print?: (line: string) => void;
}

/** One expectation of the story; the demo exits 0 only if all of them held. */
interface Outcome {
  step: string;
  ok: boolean;
  detail: string;
}

const TASK_QUEUE = 'pgshift';

/** Who approves in the demo: one distinct person per role, the executive last. */
const APPROVERS = Object.entries({
  'engineering-lead': 'alice',
  'product-owner': 'bob',
  devops: 'carol',
  executive: 'dave',
});

/** Copies the first `count` migration pairs into `dest`: a release is a prefix of the folder. */
function releaseFolder(source: string, dest: string, upTo: number): string {
  mkdirSync(dest, { recursive: true });
  for (const file of readdirSync(source)) {
    const version = Number(/^(\d+)_/.exec(file)?.[1]);
    if (file.endsWith('.sql') && version <= upTo) cpSync(join(source, file), join(dest, file));
  }
  return dest;
}

async function waitUntil<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The demo: a staging rehearsal, a production deploy approved by three people through
 * signals, a second deploy rolled back automatically when its health check fails in the
 * monitoring window, an emergency rollback to migration 8, and a status report.
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const say = (line = '') => print(line);
  const title = (text: string) => say(`\n━━ ${text} ${'━'.repeat(Math.max(0, 70 - text.length))}`);
  const outcomes: Outcome[] = [];
  const expect = (step: string, ok: boolean, detail: string) => {
    outcomes.push({ step, ok, detail });
    say(`${ok ? '  ✔' : '  ✘'} ${detail}`);
  };
  const dir = resolve(options.dir ?? '.pgshift/demo');
  const migrationsDir = resolve(options.migrationsDir ?? 'migrations');

  title('1. The local stack');
  say('Starting everything on this machine: PostgreSQL (staging + production databases),');
  say(
    'a Temporal dev server with its Web UI, the example "churn-saver" app twice, and the worker.',
  );
  const stack: LocalStack = await startLocalStack({
    dir,
    monitoringWindow: '12s',
    log: (line) => say(`  ${line}`),
  });
  Object.assign(process.env, stack.env);
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let client: Client | undefined;
  try {
    installRuntime({ ...process.env, PGSHIFT_LOG_LEVEL: process.env.PGSHIFT_LOG_LEVEL ?? 'ERROR' });
    const nativeConnection = await NativeConnection.connect({ address: stack.temporal.address });
    worker = await createPgshiftWorker({
      connection: nativeConnection,
      namespace: stack.temporal.namespace,
      taskQueue: TASK_QUEUE,
      activities: createActivities({ config: stack.config, env: process.env }),
    });
    running = worker.run();
    client = new Client({
      connection: await Connection.connect({ address: stack.temporal.address }),
      namespace: stack.temporal.namespace,
    });
    say(`  Temporal Web UI: ${stack.temporal.uiUrl ?? '(headless)'}`);
    say(`  staging app ${stack.apps.staging.url}, production app ${stack.apps.production.url}`);
    say(`  config: ${stack.configPath}`);

    const releaseA = releaseFolder(migrationsDir, join(dir, 'release-1'), 11);
    const releaseB = releaseFolder(migrationsDir, join(dir, 'release-2'), 12);
    const planA = await storePlanForWorkflow(releaseA, stack.config.plansDir);
    const planB = await storePlanForWorkflow(releaseB, stack.config.plansDir);
    const versionOf = async (env: 'staging' | 'production') =>
      withClient(stack.databases[env], (c) => currentVersion(c));
    const appVersion = async (env: 'staging' | 'production') =>
      ((await (await fetch(`${stack.apps[env].url}/api/version`)).json()) as { version: string })
        .version;

    const start = async (request: Omit<StartRequest, 'initiator'> & { initiator?: string }) => {
      const { handle, link } = await startPgshiftWorkflow(client!, {
        initiator: 'erin',
        ...request,
      } as StartRequest);
      say(`  started ${request.workflowId}`);
      say(`  Web UI: ${link}`);
      return handle;
    };
    /** Follows a run to its end, its progress indented under the step, its result checked. */
    const follow = <S extends Parameters<typeof followProgress>[2]>(
      handle: Parameters<typeof followProgress>[0],
      resultSchema: S,
    ) => followProgress(handle, (l) => say(`  ${l}`), resultSchema);
    const rehearse = async (plan: PlanRef, label: string) => {
      title(`${label}: staging rehearsal of migrations 001..${pad(top(plan))}`);
      say("The guide's enhanced staging rehearsal, as a durable workflow: validate, back up,");
      say('migrate, verify, roll back and re-apply, test every rollback file, check the app.');
      const handle = await start({
        kind: 'stagingRehearsal',
        workflowId: rehearsalWorkflowId('staging', plan.checksum),
        environment: 'staging',
        planChecksum: plan.checksum,
        input: { environment: 'staging', plan, initiator: 'erin' } satisfies StagingRehearsalInput,
        summary: `Staging rehearsal: migrations up to ${pad(top(plan))}`,
        details: 'Demo rehearsal on the embedded stack.',
      });
      const result = await follow(handle, stagingRehearsalResultSchema);
      expect(
        label,
        result.finalState === 'passed' && (await versionOf('staging')) === top(plan),
        `rehearsal ${result.finalState}; staging at version ${await versionOf('staging')}; certificate for plan ${plan.checksum.slice(0, 12)}`,
      );
    };

    /**
     * Follows a deploy to its end: it must end `finalState` with production on release 1
     * (version 11, app 2.0.0); `says` opens the line that reports where production is.
     */
    const expectRelease1InProduction = async (
      step: string,
      handle: Parameters<typeof followProgress>[0],
      finalState: ProductionDeployResult['finalState'],
      says: (result: ProductionDeployResult) => string,
    ) => {
      const result = await follow(handle, productionDeployResultSchema);
      const version = await versionOf('production');
      const app = await appVersion('production');
      expect(
        step,
        result.finalState === finalState && version === 11 && app === '2.0.0',
        `${says(result)} version ${version}, app ${app}`,
      );
    };

    /** Starts a production deploy and approves it by signal, one person per role. */
    const deploy = async (
      plan: PlanRef,
      version: string,
      monitoringWindow: string,
      intervalMs: number,
      approvers: readonly (readonly [string, string])[],
    ) => {
      const workflowId = deployWorkflowId('production', plan.checksum);
      const target: StatementTarget = {
        namespace: stack.temporal.namespace,
        environment: 'production',
        workflowId,
        runId: null,
        planChecksum: plan.checksum,
      };
      // erin signs the start with her key, as `pgshift deploy --key` does
      const input = await signDeployStart(
        target,
        {
          environment: 'production',
          plan,
          initiator: 'erin',
          options: { appVersion: version, monitoringWindow, monitoringInterval: `${intervalMs}ms` },
        } satisfies ProductionDeployInput,
        { key: stack.keys.keys.erin },
      );
      say(`  erin signs the start (initiate-deploy) with ${stack.keys.keys.erin}`);
      const handle = await start({
        kind: 'productionDeploy',
        workflowId,
        environment: 'production',
        planChecksum: plan.checksum,
        input,
        summary: `Production deploy: migrations up to ${pad(top(plan))}, app ${version}`,
        details: `Demo deploy of application ${version}; SSH-signed approvals by signal.`,
      });
      const waiting = await waitUntil(
        async () => {
          const state = await handle.query(approvalsQuery);
          return state.required.length ? state : undefined;
        },
        60_000,
        'the approval gate',
      );
      say(
        `  waiting for approvals: ${waiting.missing.join(', ')} (plan ${plan.checksum.slice(0, 12)})`,
      );
      for (const [role, approver] of approvers) {
        // each approver signs a statement bound to this run, plan and role with their key
        const signed = await signDecision(
          { ...target, runId: handle.firstExecutionRunId },
          `approve:${role}`,
          approver,
          'looks good',
          { key: stack.keys.keys[approver as DemoPerson] },
        );
        await handle.signal(approveSignal, {
          role,
          approver,
          planChecksum: plan.checksum.slice(0, 12),
          comment: 'looks good',
          ...signed,
        });
        say(
          `  ${approver} approves as ${role}: a statement signed with ssh-keygen -Y sign -n pgshift, sent by signal "approve" (as \`temporal workflow signal\` or the Web UI would send it)`,
        );
      }
      const approved = await handle.query(approvalsQuery);
      for (const g of approved.granted)
        say(`  counted: ${g.role} by ${g.approver}, key ${g.fingerprint ?? '(unsigned)'}`);
      return handle;
    };

    // ── 2. rehearsal ──
    await rehearse(planA, '2. Rehearsal');

    // ── 3. approved deploy ──
    title('3. Production deploy of release 1, approved by three people');
    const deployA = await deploy(planA, '2.0.0', '8s', 2_000, APPROVERS.slice(0, 3));
    await expectRelease1InProduction(
      '3. Deploy',
      deployA,
      'completed',
      (result) => `deploy ${result.finalState}; production at`,
    );

    say('  the application runs: customers sign up, webhooks arrive, recovery cases open…');
    await withClient(stack.databases.production, (c) => c.query(TRAFFIC_SQL));
    say(`  production now holds ${await rowSummary(stack.databases.production)}`);

    // ── 4. deploy rolled back by a failing health check ──
    await rehearse(planB, '4a. Rehearsal of release 2');
    title('4b. Production deploy of release 2, rolled back by a failing health check');
    say('Migration 012 is marked high-risk: the executive approval is required too.');
    const deployB = await deploy(planB, '3.0.0', '20s', 1_000, APPROVERS);
    await waitUntil(
      async () =>
        (await deployB.query(progressQuery)).phase.includes('monitor') ? true : undefined,
      120_000,
      'the monitoring window',
    );
    say('  the monitoring window is open: now app 3.0.0 starts failing its health checks');
    await fetch(`${stack.apps.production.url}/admin/fault`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mode: 'fail', version: '3.0.0' }),
    });
    await expectRelease1InProduction(
      '4. Automatic rollback',
      deployB,
      'rolled-back',
      (result) => `deploy ${result.finalState} (${result.reason ?? ''}); production back at`,
    );

    // ── 5. emergency rollback to migration 8 ──
    title('5. Emergency rollback: ./scripts/emergency-rollback.sh --migration-target=8');
    say(
      'Reverting 011, 010 and 009 drops customers.region and customers.segment, which hold data:\nthe rollback waits for one approval (or --break-glass).',
    );
    const rollbackInput = await signRollbackStart(
      stack.temporal.namespace,
      {
        environment: 'production',
        initiator: 'erin',
        mode: 'migration',
        migrationTarget: 8,
        plan: planA,
        description: 'Demo: roll production back to migration 8.',
        options: { watchWindow: '4s', watchInterval: '1s' },
      } satisfies EmergencyRollbackInput,
      { key: stack.keys.keys.erin },
    );
    say('  erin signs the start of the rollback (initiate-rollback) with her key');
    const rollback = await start({
      kind: 'emergencyRollback',
      workflowId: environmentLockId('production'),
      environment: 'production',
      planChecksum: planA.checksum,
      input: rollbackInput,
      summary: 'Emergency rollback of production to migration 008',
      details: 'Demo emergency rollback (--migration-target=8).',
    });
    const gate = await waitUntil(
      async () => {
        const progress = await rollback.query(progressQuery);
        if (progress.finalState) return 'done';
        return /approv/i.test(progress.phase + progress.currentDetails) ? 'approval' : undefined;
      },
      120_000,
      'the rollback to ask for approval',
    );
    if (gate === 'approval') {
      const signed = await signDecision(
        {
          namespace: stack.temporal.namespace,
          environment: 'production',
          workflowId: environmentLockId('production'),
          runId: rollback.firstExecutionRunId,
          planChecksum: planA.checksum,
        },
        'rollback-approve',
        'carol',
        'approved on the incident call',
        { key: stack.keys.keys.carol },
      );
      await rollback.signal(approveRollbackSignal, {
        approver: 'carol',
        comment: 'approved on the incident call',
        ...signed,
      });
      say(
        '  carol signs and sends her approval of the data-losing rollback (signal "approveRollback")',
      );
    }
    const resultR = await follow(rollback, emergencyRollbackResultSchema);
    expect(
      '5. Emergency rollback',
      gate === 'approval' &&
        resultR.finalState === 'completed' &&
        (await versionOf('production')) === 8,
      `rollback ${resultR.finalState} after ${gate === 'approval' ? "carol's approval" : 'no approval'}; production at version ${await versionOf('production')}${resultR.incidentPath ? `; incident document ${resultR.incidentPath}` : ''}`,
    );

    // ── 6. status only ──
    title('6. ./scripts/emergency-rollback.sh --status-only');
    const status = await start({
      kind: 'emergencyRollback',
      workflowId: environmentLockId('production'),
      environment: 'production',
      input: {
        environment: 'production',
        initiator: 'erin',
        mode: 'status-only',
      } satisfies EmergencyRollbackInput,
      summary: 'Status of production',
      details: 'Demo --status-only: changes nothing.',
    });
    const resultS = await follow(status, emergencyRollbackResultSchema);
    expect(
      '6. Status only',
      resultS.finalState !== 'failed' && (await versionOf('production')) === 8,
      `status reported; production still at version ${await versionOf('production')}, app ${await appVersion('production')}`,
    );
  } catch (error) {
    expect('demo', false, `the demo stopped: ${(error as Error).message}`);
  } finally {
    title('Summary');
    for (const o of outcomes) say(`${o.ok ? '✔' : '✘'} ${o.step}: ${o.detail}`);
    const ok = outcomes.length > 0 && outcomes.every((o) => o.ok);
    say(ok ? '\nEvery step ended as expected.' : '\nSome steps did not end as expected.');
    if (options.keep) {
      say(`\nThe stack keeps running (--keep). Web UI: ${stack.temporal.uiUrl}`);
      say('Use the CLI against it in another terminal with:');
      for (const [k, v] of Object.entries(stack.env)) say(`  export ${k}='${v}'`);
      say(
        `Examples: pgshift list; pgshift status ${environmentLockId('production')}; ${webUiLink('…')}`,
      );
      say('Press Ctrl-C to stop it.');
      await new Promise<void>((resolveStop) => {
        process.once('SIGINT', () => resolveStop());
        process.once('SIGTERM', () => resolveStop());
      });
    }
    worker?.shutdown();
    await running?.catch(() => undefined);
    await client?.connection.close().catch(() => undefined);
    await stack.stop();
    process.exitCode = ok ? 0 : 1;
  }
  return process.exitCode ?? 0;
}

/** What a few minutes of real traffic leave behind, so that a rollback has data to lose. */
const TRAFFIC_SQL = `
  INSERT INTO customers (external_id, email, full_name, region, segment)
  SELECT 'cus_' || g, 'customer' || g || '@example.com', 'Customer ' || g,
         (ARRAY['eu', 'us', 'apac'])[1 + g % 3], (ARRAY['smb', 'mid', 'enterprise'])[1 + g % 3]
  FROM generate_series(1, 250) AS g;
  INSERT INTO events (external_id, event_type, payload)
  SELECT 'evt_' || g, 'invoice.payment_failed', jsonb_build_object('customer', 'cus_' || (1 + g % 250))
  FROM generate_series(1, 1000) AS g;
  INSERT INTO recovery_cases (customer_id, trigger_event_id, amount_due_cents)
  SELECT c.id, e.id, 1999 FROM customers c
  JOIN events e ON e.payload->>'customer' = c.external_id
  WHERE c.external_id LIKE 'cus_1%' AND e.external_id LIKE 'evt_1%';`;

async function rowSummary(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT (SELECT count(*) FROM customers) AS customers, (SELECT count(*) FROM events) AS events,
              (SELECT count(*) FROM recovery_cases) AS cases`,
    );
    return `${rows[0].customers} customers, ${rows[0].events} events, ${rows[0].cases} recovery cases`;
  });
}

function top(plan: PlanRef): number {
  return Math.max(0, ...plan.migrations.map((m) => m.version));
}

const pad = formatVersion;
