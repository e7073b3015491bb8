/**
 * The fleet benchmark (issue 16), the one way to run it: N tenant databases (default 200) on
 * the local PostgreSQL, each brought up to date with the churn-saver migrations of migrations/,
 * measured twice in ONE invocation, back to back, on freshly created databases, with the same
 * 2 pgshift worker processes already running (idle) during both, so both see the same load:
 * - baseline: bench/fleet-shell-loop.sh (pg_dump, `psql -1 -f` per file, `SELECT 1`) at concurrency 8;
 * - pgshift: `fleetDeploy` (one approval, one wave, children at concurrency 8) served by those
 *   2 workers, timed from the start until every database is deployed (stage `rolled-out`),
 *   monitoring window 1 s (one sample) per database.
 * Prints wall times, their ratio, the load average at the start of each measurement, and the
 * history sizes of the parent (every run of its continue-as-new chain) and of one child.
 *   npm run build && npx tsx bench/fleet.bench.ts [count]
 * The churn-saver plan is high-risk (destructive statements): the bench fleet needs no extra role.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient, escapeIdentifier } from 'pg';
import { storePlanForWorkflow } from '../src/cli/plan-input';
import { conventionalDatabaseUrlEnv } from '../src/config';
import { databaseUrl } from '../src/dev/local/postgres-server';
import { approveSignal } from '../workflows/definitions';
import {
  fleetChildWorkflowId,
  fleetOverviewQuery,
  type FleetDeployInput,
} from '../workflows/fleet/definitions';
import { startInfra } from './infra';
import { PGSHIFT_BIN, ROOT, assertBuilt } from './paths';

const COUNT = Number(process.argv[2] ?? 200);
const CONCURRENCY = 8;
const WORKERS = 2;
const log = (line: string) => process.stderr.write(`[fleet bench] ${line}\n`);
const load = () => +loadavg()[0].toFixed(2);

/** Names of the tenant databases: `bench_tenant_001` … */
function tenantNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench_tenant_${String(i + 1).padStart(3, '0')}`);
}

/** (Re)creates `names` as empty databases on the server of `serverUrl`; returns their URLs. */
async function createTenants(serverUrl: string, names: string[]): Promise<string[]> {
  const admin = new PgClient(serverUrl);
  await admin.connect();
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    }
  } finally {
    await admin.end();
  }
  return names.map((name) => databaseUrl(serverUrl, name));
}

/** The baseline: bench/fleet-shell-loop.sh over `urls` at `concurrency`; its wall time in ms. */
async function timeShellLoop(urls: string[], concurrency: number, workDir: string) {
  const list = join(workDir, 'tenant-urls.txt');
  writeFileSync(list, urls.join('\n') + '\n', { mode: 0o600 });
  const script = join(ROOT, 'bench', 'fleet-shell-loop.sh');
  const backups = join(workDir, 'shell-loop-backups');
  const started = performance.now();
  await promisify(execFile)(
    'bash',
    [script, list, String(concurrency), backups, join(ROOT, 'migrations')],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return performance.now() - started;
}

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
    const urls = names.map((name) => databaseUrl(infra.serverUrl, name));
    const env: NodeJS.ProcessEnv = {};
    names.forEach((name, i) => (env[conventionalDatabaseUrlEnv(name)] = urls[i]));
    const config = join(infra.workDir, 'pgshift.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        backupsDir: join(infra.workDir, 'backups'),
        reportsDir: join(infra.workDir, 'reports'),
        // The plan store both workers read (the CLI stores the plan there, as `deploy --fleet` does).
        plansDir: join(infra.workDir, 'plans'),
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
    // The workers run (idle) during the baseline too: both measurements see the same load.
    const { address, namespace } = await infra.temporal();
    const taskQueue = `fleet-bench-${randomBytes(4).toString('hex')}`;
    const workerEnv = {
      ...env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: namespace,
      PGSHIFT_TASK_QUEUE: taskQueue,
    };
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(workerEnv, config));

    log(`creating ${COUNT} tenant databases for the shell loop…`);
    await createTenants(infra.serverUrl, names);
    const shellLoad = load();
    log(`shell loop: pg_dump + psql -1 -f + SELECT 1 per database, xargs -P ${CONCURRENCY}…`);
    const shellMs = await timeShellLoop(urls, CONCURRENCY, infra.workDir);
    log(`shell loop: ${(shellMs / 1000).toFixed(1)} s`);

    log(`recreating the ${COUNT} tenant databases for pgshift…`);
    await createTenants(infra.serverUrl, names);
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    const workflowId = `fleet-bench-${randomBytes(3).toString('hex')}`;

    log(
      `pgshift deploy --fleet: ${COUNT} databases, ${WORKERS} workers, concurrency ${CONCURRENCY}…`,
    );
    const pgshiftLoad = load();
    const started = performance.now();
    // As `pgshift deploy --fleet` does: the files into the plan store, the reference into the input.
    const plan = await storePlanForWorkflow(join(ROOT, 'migrations'), join(infra.workDir, 'plans'));
    const input: FleetDeployInput = { fleet: 'bench', plan, initiator: 'erin' };
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
      loadAverageAtStart: { shellLoop: shellLoad, pgshift: pgshiftLoad },
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
