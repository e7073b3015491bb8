import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as TemporalClient, Connection, type WorkflowHandle } from '@temporalio/client';
import { Client } from 'pg';
import { startExampleApp } from '../example-app/server';
import { readPlanForWorkflow } from '../src/cli/plan-input';
import { currentVersion, readLedger } from '../src/migrations/ledger';
import { migrateUp } from '../src/migrations/runner';
import { snapshotSchema, type CatalogSnapshot } from '../src/migrations/snapshot';
import { diffSnapshots } from '../src/migrations/snapshot-diff';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../src/migrations/types';
import {
  approvalsQuery,
  approveSignal,
  type EmergencyRollbackInput,
  type ProductionDeployInput,
} from '../workflows/definitions';
import { startInfra } from './infra';
import { ROOT, assertBuilt } from './paths';

/**
 * `npm run chaos [-- --runs 50 --seed 7]`: the fault campaign. Deploys and emergency
 * rollbacks of the churn-saver migrations on a real PostgreSQL and Temporal dev server, each
 * with the `pgshift worker` process killed (SIGKILL) at a random moment and started again;
 * half of them carry a 30–60 s statement in the plan, all of them run live writes. After each
 * run it checks the invariants and prints one line; the summary goes to bench/results/chaos.md.
 */

interface Args {
  runs: number;
  seed: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { runs: 50, seed: Date.now() % 100_000 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=');
    const value = inline ?? argv[++i];
    if (flag === '--runs') args.runs = Number(value);
    else if (flag === '--seed') args.seed = Number(value);
    else throw new Error(`unknown argument ${argv[i]} (usage: --runs N --seed N)`);
  }
  return args;
}

/** A small deterministic generator, so that a campaign can be replayed with its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

const ENVIRONMENT = 'chaos';
const BASE_VERSION = 8;

/** 001..011 of the shipped migrations, plus, for a slow plan, a 012 whose statement runs `seconds`. */
function planFolder(dir: string, slowSeconds: number | undefined): string {
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(join(ROOT, 'migrations'))) {
    const version = Number(/^(\d+)_/.exec(file)?.[1]);
    if (file.endsWith('.sql') && version <= 11)
      cpSync(join(ROOT, 'migrations', file), join(dir, file));
  }
  if (slowSeconds !== undefined) {
    const header = (kind: string, name: string) =>
      `-- ${kind}: ${name}\n${kind === 'Rollback' ? '-- Reverses migration: 012_chaos_backfill.sql\n' : '-- Description: A long backfill (the campaign kills the worker during it)\n'}-- Author: pgshift chaos\n-- Date: 2026-12-01\n\n`;
    writeFileSync(
      join(dir, '012_chaos_backfill.sql'),
      header('Migration', '012_chaos_backfill.sql') +
        `ALTER TABLE customers ADD COLUMN IF NOT EXISTS chaos_score integer;\nINSERT INTO chaos.applications (version, action) VALUES (12, 'apply');\nSELECT pg_sleep(${slowSeconds});\n`,
    );
    writeFileSync(
      join(dir, '012_rollback.sql'),
      header('Rollback', '012_rollback.sql') +
        `-- WARNING: This will permanently delete data (customers.chaos_score)\nALTER TABLE customers DROP COLUMN IF EXISTS chaos_score;\nINSERT INTO chaos.applications (version, action) VALUES (12, 'revert');\n`,
    );
  }
  return dir;
}

async function withDb<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client(url);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Inserts a row every 50 ms into chaos.writes and remembers the ids PostgreSQL acknowledged. */
function startWriter(url: string) {
  const acknowledged: number[] = [];
  let running = true;
  const done = (async () => {
    let seq = 0;
    while (running) {
      seq++;
      try {
        await withDb(url, async (c) => {
          await c.query('INSERT INTO chaos.writes (id) VALUES ($1)', [seq]);
        });
        acknowledged.push(seq);
      } catch {
        // the database may be briefly unavailable (a restore's swap): the write was refused, not lost
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    acknowledged,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

interface WorkerProcess {
  child: ChildProcess;
  kill(): Promise<void>;
}

async function startWorker(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'pgshift.js'), 'worker'], {
    cwd: ROOT,
    env: { ...process.env, PGSHIFT_LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('polling task queue')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`worker exited before polling:\n${output}`)));
  });
  return {
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

interface RunOutcome {
  kind: 'deploy' | 'rollback';
  slowSeconds?: number;
  killedAfterMs: number;
  /** False when the run ended before the kill landed. */
  killedMidRun: boolean;
  finalState: string;
  /** Why a run that did not complete ended so: the deploy's trigger and reason. */
  why?: string;
  version: number;
  problems: string[];
  seconds: number;
}

async function main(): Promise<void> {
  assertBuilt();
  const args = parseArgs(process.argv.slice(2));
  const rand = random(args.seed);
  const log = (line: string) => process.stdout.write(line + '\n');
  const infra = await startInfra(log);
  const { address, namespace } = await infra.temporal();
  const workDir = infra.workDir;
  const reference = new Map<number, CatalogSnapshot>();
  const outcomes: RunOutcome[] = [];
  let worker: WorkerProcess | undefined;
  const connection = await Connection.connect({ address });
  const temporal = new TemporalClient({ connection, namespace });
  const app = await startExampleApp({
    stateFile: join(workDir, 'app.json'),
    databaseUrl: await infra.createDatabase('chaos_app'),
  });
  const taskQueue = `chaos-${process.pid}`;
  try {
    for (let run = 1; run <= args.runs; run++) {
      const kind: RunOutcome['kind'] = run % 2 === 1 ? 'deploy' : 'rollback';
      const slowSeconds = rand() < 0.5 ? 30 + Math.floor(rand() * 31) : undefined;
      const started = Date.now();
      const databaseUrl = await infra.createDatabase(`chaos_${run}`);
      const dir = planFolder(join(workDir, `plan-${run}`), slowSeconds);
      const plan: MigrationPlan = await readPlanForWorkflow(dir);
      const top = Math.max(...plan.migrations.map((m) => m.version));
      const config = join(workDir, `config-${run}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          backupsDir: join(workDir, 'backups'),
          reportsDir: join(workDir, 'reports'),
          environments: {
            [ENVIRONMENT]: {
              healthChecks: [{ name: 'api', url: `${app.url}/api/health` }],
              approvals: {
                requiredRoles: ['devops'],
                highRiskRoles: [],
                roster: { devops: ['carol'] },
              },
              monitoringWindow: '3s',
              monitoringInterval: '1s',
              rollbackWindow: '2s',
            },
          },
        }),
      );
      await withDb(databaseUrl, async (c) => {
        await c.query(
          'CREATE SCHEMA chaos; CREATE TABLE chaos.writes (id int PRIMARY KEY); CREATE TABLE chaos.applications (at timestamptz DEFAULT clock_timestamp(), version int, action text)',
        );
        const options = { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'chaos setup' };
        await migrateUp(c, plan, { ...options, to: kind === 'deploy' ? BASE_VERSION : top });
      });
      const env = {
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        PGSHIFT_TASK_QUEUE: taskQueue,
        PGSHIFT_CONFIG: config,
        CHAOS_DATABASE_URL: databaseUrl,
      };
      worker = await startWorker(env);
      const writer = startWriter(databaseUrl);
      const workflowId = `chaos-${run}-${kind}-${Date.now()}`;
      let handle: WorkflowHandle;
      if (kind === 'deploy') {
        handle = await temporal.workflow.start('productionDeploy', {
          taskQueue,
          workflowId,
          args: [
            {
              environment: ENVIRONMENT,
              plan,
              initiator: 'erin',
              options: { waiveRehearsal: { reason: 'fault campaign' } },
            } satisfies ProductionDeployInput,
          ],
        });
      } else {
        handle = await temporal.workflow.start('emergencyRollback', {
          taskQueue,
          workflowId,
          args: [
            {
              environment: ENVIRONMENT,
              initiator: 'erin',
              mode: 'migration',
              migrationTarget: BASE_VERSION,
              plan,
              options: { watchWindow: '2s', watchInterval: '1s' },
            } satisfies EmergencyRollbackInput,
          ],
        });
      }
      // The kill lands anywhere from the first step to well inside the slow statement (a
      // deploy's); runs without one last a few seconds, so their kill comes within 3 s.
      const window = kind === 'deploy' && slowSeconds ? slowSeconds * 1000 : 2500;
      const killedAfterMs = Math.floor(rand() * window) + 300;
      let killed = false;
      let ended = false;
      const approver =
        kind === 'deploy'
          ? (async () => {
              for (let i = 0; i < 600 && !ended; i++) {
                try {
                  const state = await handle.query(approvalsQuery);
                  if (state.missing.length === 0 && state.required.length > 0) return;
                  if (state.missing.includes('devops')) {
                    await handle.signal(approveSignal, { role: 'devops', approver: 'carol' });
                    return;
                  }
                } catch {
                  // the worker may be down: try again
                }
                await new Promise((r) => setTimeout(r, 500));
              }
            })()
          : Promise.resolve();
      const killer = (async () => {
        await new Promise((r) => setTimeout(r, killedAfterMs));
        await worker!.kill();
        killed = true;
        await new Promise((r) => setTimeout(r, 500 + rand() * 2500));
        worker = await startWorker(env);
      })();
      const problems: string[] = [];
      let finalState = 'unknown';
      let why: string | undefined;
      try {
        const result = (await Promise.race([
          handle.result(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('no end in 15 min')), 900_000),
          ),
        ])) as {
          finalState: string;
          trigger?: string;
          reason?: string;
          backupId?: string;
          steps?: { name: string; status: string }[];
        };
        finalState = result.finalState;
        if (finalState !== 'completed')
          why = [result.trigger, result.reason?.split('\n')[0]].filter(Boolean).join(': ');
        if (
          kind === 'deploy' &&
          result.steps?.some((s) => s.name === 'backup' && s.status === 'completed')
        ) {
          const manifests = existsSync(join(workDir, 'backups', ENVIRONMENT));
          if (!manifests || !result.backupId) problems.push('no backup of this run recorded');
        }
      } catch (error) {
        problems.push(`did not end in a named state: ${(error as Error).message.split('\n')[0]}`);
      }
      ended = true;
      const killedMidRun = killed;
      await killer;
      await approver;
      await writer.stop();
      const named = [
        'completed',
        'rolled-back',
        'failed-needs-attention',
        'rejected',
        'approval-expired',
        'failed',
        'refused',
        'no-action',
      ];
      if (!named.includes(finalState))
        problems.push(`final state "${finalState}" is not a named one`);
      const version = await withDb(databaseUrl, async (c) => {
        const v = await currentVersion(c);
        const ledger = await readLedger(c);
        if (new Set(ledger.map((e) => e.version)).size !== ledger.length)
          problems.push('a version is in the ledger twice');
        const snapshot = await snapshotSchema(c, { schemas: ['public'] });
        if (!reference.has(v)) {
          const refUrl = await infra.createDatabase(`chaos_ref_${v}`);
          reference.set(
            v,
            await withDb(refUrl, async (r) => {
              await r.query(
                'CREATE SCHEMA chaos; CREATE TABLE chaos.applications (at timestamptz, version int, action text)',
              );
              await migrateUp(r, plan, {
                ...DEFAULT_RUNNER_OPTIONS,
                appliedBy: 'reference',
                to: v,
              });
              return snapshotSchema(r, { schemas: ['public'] });
            }),
          );
          await infra.dropDatabase(refUrl);
        }
        const differences = diffSnapshots(reference.get(v)!, snapshot).map((d) => d.message);
        if (differences.length)
          problems.push(`schema differs from version ${v}: ${differences.slice(0, 3).join('; ')}`);
        const applications = (
          await c.query<{ version: number; action: string }>(
            'SELECT version, action FROM chaos.applications ORDER BY at',
          )
        ).rows;
        let depth = 0;
        for (const row of applications) {
          depth += row.action === 'apply' ? 1 : -1;
          if (depth > 1) problems.push('migration 012 was applied twice');
        }
        if (slowSeconds !== undefined && depth !== (v >= 12 ? 1 : 0))
          problems.push(`012 applied ${depth} time(s) net while the ledger is at ${v}`);
        const present = new Set(
          (await c.query<{ id: number }>('SELECT id FROM chaos.writes')).rows.map((r) => r.id),
        );
        const lost = writer.acknowledged.filter((id) => !present.has(id));
        if (lost.length) problems.push(`${lost.length} acknowledged write(s) lost`);
        return v;
      });
      const lease = await temporal.workflow
        .getHandle(`pgshift-lease-${ENVIRONMENT}`)
        .query<{ holder?: unknown } | undefined>('leaseHolder')
        .catch(() => undefined);
      if (lease?.holder) problems.push('the environment lease is still held');
      await worker?.kill();
      worker = undefined;
      const outcome: RunOutcome = {
        kind,
        ...(slowSeconds ? { slowSeconds } : {}),
        killedAfterMs,
        killedMidRun,
        finalState,
        ...(why ? { why } : {}),
        version,
        problems,
        seconds: Math.round((Date.now() - started) / 1000),
      };
      outcomes.push(outcome);
      log(
        `run ${run}/${args.runs}: ${kind}${slowSeconds ? ` (${slowSeconds}s statement)` : ''}, ${killedMidRun ? 'killed' : 'ended before the kill'} after ${(killedAfterMs / 1000).toFixed(1)}s → ${finalState}${why ? ` (${why})` : ''}, version ${version}, ${outcome.seconds}s: ${problems.length ? 'INCONSISTENT: ' + problems.join('; ') : 'consistent'}`,
      );
      await infra.dropDatabase(databaseUrl);
    }
  } finally {
    await worker?.kill();
    await app.stop();
    await connection.close();
    await infra.stop();
  }
  const consistent = outcomes.filter((o) => o.problems.length === 0).length;
  const twice = outcomes.filter((o) => o.problems.some((p) => p.includes('twice'))).length;
  const lost = outcomes.filter((o) => o.problems.some((p) => p.includes('lost'))).length;
  const states = new Map<string, number>();
  for (const o of outcomes)
    states.set(`${o.kind} ${o.finalState}`, (states.get(`${o.kind} ${o.finalState}`) ?? 0) + 1);
  const summary = [
    `# Fault campaign (${new Date().toISOString()}, seed ${args.seed})`,
    '',
    `${outcomes.length} runs (${outcomes.filter((o) => o.slowSeconds).length} with a 30–60 s statement), worker SIGKILLed during ${outcomes.filter((o) => o.killedMidRun).length} of them (the others ended before the kill): ${consistent} consistent end states, ${twice} double applications, ${lost} runs with lost writes.`,
    '',
    `End states: ${[...states].map(([k, v]) => `${k} ×${v}`).join(', ')}`,
    '',
    ...outcomes
      .filter((o) => o.problems.length)
      .map((o, i) => `- inconsistent ${i + 1}: ${o.kind}: ${o.problems.join('; ')}`),
    ...outcomes.filter((o) => o.why).map((o) => `- ${o.kind} ${o.finalState}: ${o.why}`),
  ].join('\n');
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'chaos.md'), summary + '\n');
  log('\n' + summary);
  process.exitCode = consistent === outcomes.length ? 0 : 1;
}

main().catch((error) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
