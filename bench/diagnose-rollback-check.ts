/**
 * Where one check of `test rollback --all` spends its time as the schema grows: the walk of
 * testAllRollbacks replayed in one process over N generated migrations, each phase of a
 * check (names, scope + guard, scoped snapshot, apply, roll back, compare, apply again) and
 * each distinct query timed, in wall time and in CPU time of this process and of the
 * PostgreSQL backend (/proc/<pid>/schedstat, so the figures hardly depend on the load of the
 * machine). Printed per window of migrations (e.g. 90–110 and 380–400): a phase whose cost
 * grows between windows grows with the schema.
 *
 *   npm run build && npx tsx bench/diagnose-rollback-check.ts [migrations=400] [window=20]
 *
 * With DIAG_HOLD=1 the walked database is kept (and its URL printed) until interrupted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import { startInfra } from './infra';
import { ROOT } from './paths';

/** CPU time (ms) a process has spent on a CPU so far: the first field of its schedstat. */
function cpuMsOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

interface Cost {
  wall: number;
  node: number;
  server: number;
  calls: number;
}

async function main() {
  const count = Number(process.argv[2] ?? 400);
  const window = Number(process.argv[3] ?? 20);
  const marks = [100, 200, 400, 800, 1500].filter((m) => m <= count);
  const infra = await startInfra((line) => process.stderr.write(`${line}\n`));
  /* eslint-disable @typescript-eslint/no-require-imports */
  const lib = (file: string) => require(join(ROOT, 'dist/src/migrations', file));
  const { loadPlan } = lib('files.js');
  const { ensureLedger } = lib('ledger.js');
  const { applyMigration } = lib('runner.js');
  const { createScratchDatabase } = lib('scratch-database.js');
  const { beginRollbackCheck, compareAfterRollback } = lib('rollback-check.js');
  const { DEFAULT_RUNNER_OPTIONS } = lib('types.js');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const scratch = await createScratchDatabase(infra.serverUrl);
  try {
    const dir = writeGuideFormat(join(infra.workDir, 'diag'), generateMigrations(count));
    const plan = await loadPlan(dir, { sqlCheck: 'forward' });
    const client: Client = scratch.client;
    const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]
      .pid;
    await ensureLedger(client);
    const runner = { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'diag' };
    // Per window (keyed by its last migration): per phase and per query, the summed cost.
    const windows = new Map<number, Map<string, Cost>>();
    let current: Map<string, Cost> | undefined;
    const now = () => ({
      wall: performance.now(),
      node: process.cpuUsage().user / 1000 + process.cpuUsage().system / 1000,
      server: cpuMsOf(backend),
    });
    const add = (key: string, from: ReturnType<typeof now>) => {
      if (!current) return;
      const to = now();
      const cost = current.get(key) ?? { wall: 0, node: 0, server: 0, calls: 0 };
      cost.wall += to.wall - from.wall;
      cost.node += to.node - from.node;
      cost.server += to.server - from.server;
      cost.calls++;
      current.set(key, cost);
    };
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    client.query = (async (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : String((first as { text?: string }).text);
      const label = 'query ' + text.replace(/\s+/g, ' ').trim().slice(0, 70);
      const from = now();
      try {
        return await query(...args);
      } finally {
        add(label, from);
      }
    }) as unknown as typeof client.query;
    const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const from = now();
      try {
        return await fn();
      } finally {
        add(`phase ${name}`, from);
      }
    };
    const fallbacks: string[] = [];
    for (let index = 0; index < plan.migrations.length; index++) {
      const n = index + 1;
      const mark = marks.find((m) => n > m - window && n <= m);
      current = mark === undefined ? undefined : (windows.get(mark) ?? new Map());
      if (mark !== undefined) windows.set(mark, current!);
      const migration = plan.migrations[index];
      const check = await phase('begin check', () => beginRollbackCheck(client, migration));
      await phase('apply', () => applyMigration(client, migration, 'up', runner));
      await phase('roll back', () => applyMigration(client, migration, 'down', runner));
      const comparison: { differences: unknown[]; fallback?: string } = await phase('compare', () =>
        compareAfterRollback(client, check, async () => {
          throw new Error('fallback needed');
        }),
      );
      if (comparison.fallback) fallbacks.push(comparison.fallback);
      if (comparison.differences.length > 0)
        throw new Error(`${migration.forward.file}: ${JSON.stringify(comparison.differences)}`);
      await phase('apply again', () => applyMigration(client, migration, 'up', runner));
    }
    const print = (mark: number, costs: Map<string, Cost>) => {
      console.log(`\n== migrations ${mark - window + 1}..${mark} (per migration, ms)`);
      const rows = [...costs.entries()].sort((a, b) => b[1].wall - a[1].wall);
      for (const [key, c] of rows)
        console.log(
          `${(c.wall / window).toFixed(2).padStart(8)} wall ${(c.node / window).toFixed(2).padStart(7)} node-cpu ${(c.server / window).toFixed(2).padStart(7)} pg-cpu ${String(c.calls / window).padStart(5)}x  ${key}`,
        );
    };
    for (const [mark, costs] of windows) print(mark, costs);
    console.log(`\nfallbacks: ${fallbacks.length}`);
    if (process.env.DIAG_HOLD) {
      // Keeps the walked database for a look with psql, until this process is interrupted.
      console.log(`holding ${scratch.name} on ${infra.serverUrl}; interrupt to clean up`);
      await new Promise((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await scratch.drop();
    await infra.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
