import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { createActivities } from '../activities';
import { readPlanForWorkflow } from '../src/cli/plan-input';
import { PlanStore } from '../src/migrations/plan-store';
import { parseConfig } from '../src/config';
import {
  approveSignal,
  type ProductionDeployInput,
  type ProductionDeployResult,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../workflows/definitions';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import { startInfra } from './infra';
import { startBenchWorker } from './temporal-harness';

/**
 * Plans of any size (not part of `npm run bench`): one staging rehearsal of N generated
 * migrations through the plan store, then a deploy of the same plan to another database
 * (`preprod`: names-only approvals, approved by signal), on a real Temporal dev server and an
 * in-process worker. Prints the plan's SQL size, the workflow input, each run's wall time and
 * history (events, encoded bytes, the largest payload) and the rehearsal's phases.
 * `npx tsx bench/large-plan.ts [migrations]`
 */
async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 5000);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const infra = await startInfra((line) => process.stderr.write(`${line}\n`));
  try {
    const dir = writeGuideFormat(join(infra.workDir, 'large'), generateMigrations(count));
    const plansDir = join(infra.workDir, 'plans');
    const env: NodeJS.ProcessEnv = {};
    const config = parseConfig(
      {
        plansDir,
        backupsDir: join(infra.workDir, 'b'),
        reportsDir: join(infra.workDir, 'r'),
        environments: {
          preprod: {
            approvals: {
              requiredRoles: ['devops'],
              highRiskRoles: [],
              roster: { devops: ['carol'] },
            },
            monitoringWindow: '2s',
            monitoringInterval: '1s',
            rollbackWindow: '1s',
          },
        },
      },
      null,
    );
    // The lease activities reach the server with a client of their own (TEMPORAL_*).
    const server = await infra.temporal();
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.TEMPORAL_NAMESPACE = server.namespace;
    const worker = await startBenchWorker(
      infra,
      createActivities({ config, env, scratchServerUrl: infra.serverUrl }),
    );
    try {
      let started = Date.now();
      const whole = await readPlanForWorkflow(dir);
      const readMs = Date.now() - started;
      started = Date.now();
      const plan = await new PlanStore(plansDir).storePlan(whole);
      const storeMs = Date.now() - started;
      const input = {
        environment: 'staging',
        plan,
        initiator: 'bench',
        options: { skipFunctionalChecks: true },
      } satisfies StagingRehearsalInput;
      env.STAGING_DATABASE_URL = await infra.createDatabase('large');
      started = Date.now();
      const handle = await worker.client.workflow.start('stagingRehearsal', {
        taskQueue: worker.taskQueue,
        workflowId: `large-plan-${count}-${Date.now()}`,
        args: [input],
      });
      const result = (await handle.result()) as StagingRehearsalResult;
      const wallMs = Date.now() - started;
      const history = await handle.fetchHistory();
      const { bytes, largest } = historySize(history);
      const sqlBytes = sqlSize(dir);
      const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;
      say(`migrations:            ${count}`);
      say(`SQL of the plan:       ${mb(sqlBytes)}`);
      say(`read and validate:     ${(readMs / 1000).toFixed(1)} s (the CLI, before it stores)`);
      say(
        `store the plan:        ${(storeMs / 1000).toFixed(1)} s (${2 * count} files, written once)`,
      );
      say(`workflow input:        ${mb(Buffer.byteLength(JSON.stringify(input)))}`);
      say(`rehearsal:             ${result.finalState} in ${(wallMs / 1000).toFixed(1)} s`);
      if (result.failure) say(`failure:               ${result.failure}`);
      say(`history:               ${history.events?.length ?? 0} events, ${mb(bytes)}`);
      say(`largest event:         ${mb(largest)} (the start, carrying the plan reference)`);

      env.PREPROD_DATABASE_URL = await infra.createDatabase('large_preprod');
      started = Date.now();
      const deploy = await worker.client.workflow.start('productionDeploy', {
        taskQueue: worker.taskQueue,
        workflowId: `large-plan-deploy-${count}-${Date.now()}`,
        args: [
          {
            environment: 'preprod',
            plan,
            initiator: 'bench',
            options: {},
          } satisfies ProductionDeployInput,
        ],
      });
      await deploy.signal(approveSignal, { role: 'devops', approver: 'carol' });
      const deployed = (await deploy.result()) as ProductionDeployResult;
      const deployMs = Date.now() - started;
      const deployHistory = await deploy.fetchHistory();
      const deploySize = historySize(deployHistory);
      say(
        `deploy:                ${deployed.finalState} in ${(deployMs / 1000).toFixed(1)} s${deployed.reason ? ` (${deployed.reason.split('\n')[0]})` : ''}`,
      );
      say(
        `deploy history:        ${deployHistory.events?.length ?? 0} events, ${mb(deploySize.bytes)} (largest event ${mb(deploySize.largest)})`,
      );
      say('rehearsal phases (activity, calls, wall time from scheduled to closed, summed):');
      for (const [type, phase] of activityPhases(history))
        say(
          `  ${type.padEnd(28)} ${String(phase.calls).padStart(3)} × ${(phase.ms / 1000).toFixed(1)} s`,
        );
    } finally {
      await worker.stop();
    }
  } finally {
    await infra.stop();
  }
}

/** A history's encoded size and its largest event's. */
function historySize(history: temporal.api.history.v1.IHistory) {
  return {
    bytes: temporal.api.history.v1.History.encode(history).finish().length,
    largest: Math.max(
      ...(history.events ?? []).map(
        (e) => temporal.api.history.v1.HistoryEvent.encode(e).finish().length,
      ),
    ),
  };
}

/** Wall time per activity type of a history: from each call's scheduling to its close. */
function activityPhases(history: temporal.api.history.v1.IHistory) {
  const scheduled = new Map<string, { type: string; at: number }>();
  const phases = new Map<string, { calls: number; ms: number }>();
  const millis = (e: temporal.api.history.v1.IHistoryEvent) =>
    Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  for (const event of history.events ?? []) {
    const attributes = event.activityTaskScheduledEventAttributes;
    if (attributes) {
      const type = attributes.activityType?.name ?? '?';
      scheduled.set(String(event.eventId), { type, at: millis(event) });
      continue;
    }
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    const start = closed && scheduled.get(String(closed.scheduledEventId));
    if (!start) continue;
    const phase = phases.get(start.type) ?? { calls: 0, ms: 0 };
    phase.calls += 1;
    phase.ms += millis(event) - start.at;
    phases.set(start.type, phase);
  }
  return [...phases].sort((a, b) => b[1].ms - a[1].ms);
}

function sqlSize(dir: string): number {
  return readdirSync(dir).reduce((sum, file) => sum + statSync(join(dir, file)).size, 0);
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
