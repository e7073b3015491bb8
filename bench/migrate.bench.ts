import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { connect } from '../src/migrations/database';
import { loadPlan } from '../src/migrations/files';
import { migrateUp } from '../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS } from '../src/migrations/types';
import {
  generateMigrations,
  writeGuideFormat,
  writeNodePgMigrateFormat,
} from './generate-migrations';
import type { BenchInfra } from './infra';
import { median, pairedDifference, pairedRatio, runProcess, type ProcessRun } from './measure';
import { NODE_PG_MIGRATE_BIN, PGSHIFT_BIN, ROOT } from './paths';
import { metric, type BenchContext, type BenchResult } from './report';

const PSQL = join(process.env.PGSHIFT_PG_BIN ?? '/usr/lib/postgresql/15/bin', 'psql');
const FLOOR_APPLY = join(ROOT, 'bench', 'floor-apply.js');

interface CapturedQuery {
  text: string;
  values?: unknown[];
}

/**
 * Every query `migrateUp` sends for `dir` on an empty database, in order (one entry per
 * round trip): what bench/floor-apply.js replays to time a Node program that only sends them.
 */
async function captureQueries(url: string, dir: string): Promise<CapturedQuery[]> {
  const plan = await loadPlan(dir, { sqlCheck: 'forward' });
  const client = await connect(url);
  const captured: CapturedQuery[] = [];
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (...args: unknown[]) => {
    const [first, values] = args as [string | { text: string }, unknown];
    captured.push({
      text: typeof first === 'string' ? first : first.text,
      ...(Array.isArray(values) ? { values } : {}),
    });
    return query(...args);
  };
  try {
    await migrateUp(client as Client, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'bench' });
  } finally {
    await client.end();
  }
  return captured;
}

/**
 * 1. `pgshift migrate up` (the real CLI) vs `node-pg-migrate up` applying the same 200
 * generated migrations to a fresh empty database each run, alternating which goes first.
 * node-pg-migrate runs by default all pending migrations in ONE transaction; it is also
 * timed with `--no-single-transaction` (one transaction per migration, like pgshift).
 */
export async function benchMigrate(infra: BenchInfra, ctx: BenchContext): Promise<BenchResult> {
  const count = 200;
  const runs = ctx.quick ? 2 : 5;
  const migrations = generateMigrations(count);
  const guideDir = writeGuideFormat(join(infra.workDir, `migrate-${count}`), migrations);
  const npmDir = writeNodePgMigrateFormat(join(infra.workDir, `npm-migrate-${count}`), migrations);

  const pgshift = (url: string) =>
    runProcess(process.execPath, [PGSHIFT_BIN, 'migrate', 'up', '--dir', guideDir], {
      env: { ...process.env, DATABASE_URL: url, PGSHIFT_USER: 'bench' },
    });
  const nodePgMigrate = (url: string, extra: string[] = []) =>
    runProcess(
      process.execPath,
      [NODE_PG_MIGRATE_BIN, 'up', '-m', npmDir, '--no-verbose', ...extra],
      { env: { ...process.env, DATABASE_URL: url } },
    );
  // The floor: psql applying the concatenated forward files in one transaction (no ledger).
  const concatenated = join(infra.workDir, `migrate-${count}-all.sql`);
  writeFileSync(concatenated, migrations.map((m) => m.forward).join('\n'));
  const psql = (url: string) =>
    runProcess(PSQL, ['-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', concatenated, url]);
  // Floors: what a Node program costs with no CLI and no parsing. (1) pgshift's own queries
  // (ledger, lock guards, one transaction per file), replayed; (2) the concatenated files in
  // one transaction, as psql -1 sends them but in one round trip.
  const floorQueries = join(infra.workDir, `migrate-${count}-queries.json`);
  const scratch = await infra.createDatabase('migrate-capture');
  try {
    writeFileSync(floorQueries, JSON.stringify(await captureQueries(scratch, guideDir)));
  } finally {
    await infra.dropDatabase(scratch);
  }
  const oneTransaction = join(infra.workDir, `migrate-${count}-one-transaction.json`);
  writeFileSync(
    oneTransaction,
    JSON.stringify([
      { text: `BEGIN;\n${migrations.map((m) => m.forward).join('\n;\n')}\n;\nCOMMIT` },
    ]),
  );
  const floor = (url: string, queries: string) =>
    runProcess(process.execPath, [FLOOR_APPLY, queries], {
      env: { ...process.env, DATABASE_URL: url },
    });
  const tools: Record<string, (url: string) => Promise<ProcessRun>> = {
    pgshift,
    'psql -1 -f': psql,
    'floor: node + pg, pgshift queries': (url) => floor(url, floorQueries),
    'floor: node + pg, one transaction': (url) => floor(url, oneTransaction),
    'node-pg-migrate': (url) => nodePgMigrate(url),
    'node-pg-migrate --no-single-transaction': (url) =>
      nodePgMigrate(url, ['--no-single-transaction']),
  };
  const times: Record<string, number[]> = {};
  const rss: Record<string, number[]> = {};
  const names = Object.keys(tools);
  for (let run = 0; run < runs; run++) {
    // Rotate the order so that no tool always runs on a warm or a cold cache.
    const order = names.map((_, i) => names[(i + run) % names.length]);
    for (const name of order) {
      const url = await infra.createDatabase('migrate');
      try {
        const result = await tools[name](url);
        (times[name] ??= []).push(result.wallMs);
        if (result.maxRssMb !== undefined) (rss[name] ??= []).push(result.maxRssMb);
      } finally {
        await infra.dropDatabase(url);
      }
    }
    ctx.log(
      `migrate run ${run + 1}/${runs}: ${names.map((n) => `${n} ${Math.round(times[n][run])} ms`).join(', ')}`,
    );
  }
  // What each CLI costs before it does anything: process start and module loading.
  const startup: Record<string, number[]> = { pgshift: [], 'node-pg-migrate': [] };
  for (let run = 0; run < 5; run++) {
    startup.pgshift.push((await runProcess(process.execPath, [PGSHIFT_BIN, '--help'])).wallMs);
    startup['node-pg-migrate'].push(
      (await runProcess(process.execPath, [NODE_PG_MIGRATE_BIN, '--help'])).wallMs,
    );
  }
  const med = (name: string) => median(times[name]);
  const ratio = pairedRatio(times.pgshift, times['node-pg-migrate']);
  const ratioPsql = pairedRatio(times.pgshift, times['psql -1 -f']);
  const ratioPerTx = pairedRatio(times.pgshift, times['node-pg-migrate --no-single-transaction']);
  const floorName = 'floor: node + pg, pgshift queries';
  const oneTxName = 'floor: node + pg, one transaction';
  const peak = Math.max(...(rss.pgshift ?? [NaN]));
  return {
    id: 'migrate',
    title: `migrate up: ${count} generated migrations on an empty database (real CLIs, median of ${runs})`,
    metrics: [
      metric('pgshift migrate up', med('pgshift'), 'ms', undefined, times.pgshift),
      metric(
        'node-pg-migrate up',
        med('node-pg-migrate'),
        'ms',
        undefined,
        times['node-pg-migrate'],
      ),
      metric(
        'node-pg-migrate up --no-single-transaction',
        med('node-pg-migrate --no-single-transaction'),
        'ms',
        undefined,
        times['node-pg-migrate --no-single-transaction'],
      ),
      metric(
        'psql -1 -f (concatenated files)',
        med('psql -1 -f'),
        'ms',
        undefined,
        times['psql -1 -f'],
      ),
      metric(
        "floor: node + pg sending pgshift's queries (no CLI, no parsing)",
        med(floorName),
        'ms',
        undefined,
        times[floorName],
      ),
      metric(
        'floor: node + pg sending the files in one transaction',
        med(oneTxName),
        'ms',
        undefined,
        times[oneTxName],
      ),
      metric('ratio pgshift / node-pg-migrate', ratio, 'x', { max: 0.9, text: '≤ 0.9x' }),
      metric('ratio pgshift / psql -1 -f', ratioPsql, 'x', { max: 1.3, text: '≤ 1.3x' }),
      metric(
        'ratio floor (pgshift queries) / psql -1 -f',
        pairedRatio(times[floorName], times['psql -1 -f']),
        'x',
      ),
      metric(
        'ratio floor (one transaction) / psql -1 -f',
        pairedRatio(times[oneTxName], times['psql -1 -f']),
        'x',
      ),
      metric(
        "pgshift minus floor (the CLI's own work)",
        pairedDifference(times.pgshift, times[floorName]),
        'ms',
      ),
      metric('ratio pgshift / node-pg-migrate (per-migration tx)', ratioPerTx, 'x'),
      metric(
        'pgshift --help (startup only)',
        median(startup.pgshift),
        'ms',
        undefined,
        startup.pgshift,
      ),
      metric(
        'node-pg-migrate --help (startup only)',
        median(startup['node-pg-migrate']),
        'ms',
        undefined,
        startup['node-pg-migrate'],
      ),
      metric('pgshift peak RSS', peak, 'MB', { max: 200, text: '< 200 MB' }, rss.pgshift),
      metric('node-pg-migrate peak RSS', Math.max(...(rss['node-pg-migrate'] ?? [NaN])), 'MB'),
    ],
    notes: [
      'times are wall clock from spawn to exit of `node bin/pgshift.js migrate up` and `node node_modules/node-pg-migrate/bin/node-pg-migrate.js up` (process start, loading, connecting, applying, ledger)',
      'pgshift runs each migration in its own transaction together with its ledger row and lock guard (the rollback-capable unit the guide wants), sends up to 50 such transactions per round trip, and parses every file with the PostgreSQL parser first; node-pg-migrate by default wraps all pending migrations in one transaction',
      'peak RSS from /usr/bin/time -v (maximum resident set size of the process)',
    ],
  };
}
