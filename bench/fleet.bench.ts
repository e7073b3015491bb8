/**
 * The fleet benchmark (issue 16): N tenant databases (default 200) on the local PostgreSQL,
 * each brought up to date with the churn-saver migrations of migrations/:
 * - baseline: bench/fleet-shell-loop.sh (pg_dump, `psql -1 -f` per file, `SELECT 1`) at concurrency 8;
 * - pgshift: `fleetDeploy` (one approval, one wave, children at concurrency 8) served by 2
 *   `pgshift worker` processes, timed from the start until every database is deployed
 *   (stage `rolled-out`), monitoring window 1 s (one sample) per database.
 * Prints wall times, their ratio, and the history sizes of the parent (every run of its
 * continue-as-new chain) and of one child.
 *   npm run build && npx tsx bench/fleet.bench.ts [count]
 * The churn-saver plan is high-risk (destructive statements): the bench fleet needs no extra role.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { readPlanForWorkflow } from '../src/cli/plan-input';
import { conventionalDatabaseUrlEnv } from '../src/config';
import { approveSignal } from '../workflows/definitions';
import {
  fleetChildWorkflowId,
  fleetOverviewQuery,
  type FleetDeployInput,
} from '../workflows/fleet/definitions';
import { createTenants, tenantNames, timeShellLoop } from './fleet-tenants';
import { startInfra } from './infra';
import { PGSHIFT_BIN, ROOT, assertBuilt } from './paths';

const COUNT = Number(process.argv[2] ?? 200);
const CONCURRENCY = 8;
const WORKERS = 2;
const log = (line: string) => process.stderr.write(`[fleet bench] ${line}\n`);

function startWorker(env: NodeJS.ProcessEnv, config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [PGSHIFT_BIN, 'worker', '--config', config], {
    cwd: ROOT,
    env: { ...process.env, PGSHIFT_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('polling task queue')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${output}`)));
  });
}

async function main(): Promise<void> {
  assertBuilt();
  const infra = await startInfra(log);
  const workers: ChildProcess[] = [];
  try {
    const names = tenantNames(COUNT);
    log(`creating ${COUNT} tenant databases for the shell loop…`);
    let urls = await createTenants(infra.serverUrl, names);
    // SHELL_LOOP_SECONDS: reuse the shell loop's time measured by an earlier run (reported as such).
    const given = Number(process.env.SHELL_LOOP_SECONDS);
    log('shell loop: pg_dump + psql -1 -f + SELECT 1 per database, xargs -P 8…');
    const shellMs = given ? given * 1000 : await timeShellLoop(urls, CONCURRENCY, infra.workDir);
    log(`shell loop: ${(shellMs / 1000).toFixed(1)} s${given ? ' (given, not measured now)' : ''}`);

    if (!given) {
      log(`recreating the ${COUNT} tenant databases for pgshift…`);
      urls = await createTenants(infra.serverUrl, names);
    }
    const env: NodeJS.ProcessEnv = {};
    names.forEach((name, i) => (env[conventionalDatabaseUrlEnv(name)] = urls[i]));
    const config = join(infra.workDir, 'pgshift.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        backupsDir: join(infra.workDir, 'backups'),
        reportsDir: join(infra.workDir, 'reports'),
        fleets: {
          bench: {
            environments: names,
            approvals: {
              requiredRoles: ['devops'],
              highRiskRoles: [],
              roster: { devops: ['carol'] },
            },
            waves: ['100%'],
            concurrency: CONCURRENCY,
            // A busy host slows a probe now and then (performance-degradation trigger): tolerated, reported.
            failureBudget: '5%',
            monitoringWindow: '1s',
            monitoringInterval: '1s',
          },
        },
      }),
      { mode: 0o600 },
    );
    const { address, namespace } = await infra.temporal();
    const taskQueue = `fleet-bench-${randomBytes(4).toString('hex')}`;
    const workerEnv = {
      ...env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      PGSHIFT_TASK_QUEUE: taskQueue,
    };
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(workerEnv, config));
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    const plan = await readPlanForWorkflow(join(ROOT, 'migrations'));
    const workflowId = `fleet-bench-${randomBytes(3).toString('hex')}`;
    const input: FleetDeployInput = { fleet: 'bench', plan, initiator: 'erin' };

    log(
      `pgshift deploy --fleet: ${COUNT} databases, ${WORKERS} workers, concurrency ${CONCURRENCY}…`,
    );
    const started = performance.now();
    const handle = await client.workflow.start('fleetDeploy', {
      taskQueue,
      workflowId,
      args: [input],
    });
    await handle.signal(approveSignal, { role: 'devops', approver: 'carol' });
    let last = '';
    for (;;) {
      const overview = await handle.query(fleetOverviewQuery).catch(() => undefined);
      if (overview) {
        const line = `${overview.stage} ${JSON.stringify(overview.waves.map((w) => w.counts))}`;
        if (line !== last) log((last = line));
        if (overview.stage === 'rolled-out' || overview.stage === 'halted') break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const fleetMs = performance.now() - started;
    const overview = await handle.query(fleetOverviewQuery);

    // History sizes: every run of the parent's chain, and one child.
    const runs: { runId: string; events: number; bytes: number }[] = [];
    for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      const d = await client.workflow.getHandle(workflowId, run.runId).describe();
      runs.push({ runId: run.runId, events: d.historyLength, bytes: Number(d.historySize) });
    }
    const child = await client.workflow
      .getHandle(fleetChildWorkflowId(workflowId, names[0], 'deploy', 1))
      .describe();
    await handle.terminate('benchmark over');
    const result = {
      databases: COUNT,
      workers: WORKERS,
      concurrency: CONCURRENCY,
      migrations: plan.migrations.length,
      shellLoopSeconds: +(shellMs / 1000).toFixed(1),
      pgshiftSeconds: +(fleetMs / 1000).toFixed(1),
      ratio: +(fleetMs / shellMs).toFixed(2),
      outcome: overview.waves.map((w) => w.counts),
      failed: overview.failed,
      parentRuns: runs.length,
      parentLargestRun: runs.reduce((a, b) => (b.bytes > a.bytes ? b : a), runs[0]),
      parentTotalBytes: runs.reduce((n, r) => n + r.bytes, 0),
      childHistory: { events: child.historyLength, bytes: Number(child.historySize) },
      planBytes: Buffer.byteLength(JSON.stringify(plan)),
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    await connection.close();
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
    await infra.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
