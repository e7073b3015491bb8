import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { BenchInfra } from './infra';
import { median, runProcess } from './measure';
import { NODE_PG_MIGRATE_BIN, PGSHIFT_BIN } from './paths';
import { metric, type BenchContext, type BenchResult, type Metric } from './report';

/**
 * Production impact of a migration that needs ACCESS EXCLUSIVE behind a long reader:
 * pgbench (TPC-B, fixed rate -R, per-transaction log -l) runs on `pgbench -i -s 5` tables;
 * a reporting session holds an AccessShareLock on pgbench_accounts for 12 s; one second
 * later `ALTER TABLE pgbench_accounts ADD COLUMN note text` is applied by (a) psql without
 * lock_timeout, (b) node-pg-migrate, (c) pgshift (default lock_timeout 200 ms). A baseline
 * run has the reader but no migration. Each run uses a fresh database.
 */

const PG_BIN = process.env.PGSHIFT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const MIGRATION = 'ALTER TABLE pgbench_accounts ADD COLUMN note text';
const RATE = 150;
const READER_START_MS = 2_000;
const READER_HOLD_S = 12;
const MIGRATION_DELAY_MS = 1_000;
const LOCK_TIMEOUT_MS = 200;

type Mode = 'baseline' | 'psql' | 'node-pg-migrate' | 'pgshift';

interface RunFigures {
  transactions: number;
  p50: number;
  p99: number;
  max: number;
  /** Migration end minus the reader's end (s); undefined for the baseline. */
  completedAfterReaderS?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * pgbench's per-transaction log: `client tx time script epoch us lag`. With --rate, `time`
 * runs from the transaction's *scheduled* start, so it includes the schedule lag.
 */
function readLatencies(dir: string): number[] {
  const out: number[] = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith('pgbench_log')))
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields.length >= 6) out.push(Number(fields[2]) / 1000);
    }
  return out.sort((a, b) => a - b);
}

function writeMigrationFolders(workDir: string): { guide: string; npm: string } {
  const guide = join(workDir, 'impact-guide');
  const npm = join(workDir, 'impact-npm');
  mkdirSync(guide, { recursive: true });
  mkdirSync(npm, { recursive: true });
  const header = (kind: string, value: string) =>
    `-- ${kind}: ${value}\n-- Description: add a note to accounts\n-- Author: Bench\n-- Date: 2026-12-01\n`;
  writeFileSync(
    join(guide, '001_add_account_note.sql'),
    `${header('Migration', '001_add_account_note.sql')}\n${MIGRATION};\n`,
  );
  writeFileSync(
    join(guide, '001_rollback.sql'),
    `-- Rollback: 001_rollback.sql\n-- Reverses migration: 001_add_account_note.sql\n-- Author: Bench\n-- Date: 2026-12-01\n\nALTER TABLE pgbench_accounts DROP COLUMN IF EXISTS note;\n`,
  );
  writeFileSync(
    join(npm, '1700000000000_add-account-note.js'),
    `exports.up = (pgm) => { pgm.sql(${JSON.stringify(MIGRATION)}); };\nexports.down = (pgm) => { pgm.sql('ALTER TABLE pgbench_accounts DROP COLUMN note'); };\n`,
  );
  return { guide, npm };
}

async function runOnce(
  infra: BenchInfra,
  mode: Mode,
  dirs: { guide: string; npm: string },
  durationS: number,
  log: (line: string) => void,
): Promise<RunFigures> {
  const url = await infra.createDatabase(`impact_${mode.replace(/-/g, '_')}`);
  const logDir = join(infra.workDir, `pgbench-${mode}-${Date.now()}`);
  mkdirSync(logDir, { recursive: true });
  try {
    await runProcess(join(PG_BIN, 'pgbench'), ['-i', '-s', '5', '-q', url]);
    const pgbench = spawn(
      join(PG_BIN, 'pgbench'),
      [
        '-n',
        '-R',
        String(RATE),
        '-c',
        '8',
        '-j',
        '2',
        '-T',
        String(durationS),
        '-l',
        `--log-prefix=${join(logDir, 'pgbench_log')}`,
        url,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pgbenchOut: Buffer[] = [];
    pgbench.stdout.on('data', (b: Buffer) => pgbenchOut.push(b));
    pgbench.stderr.on('data', (b: Buffer) => pgbenchOut.push(b));
    const pgbenchDone = new Promise<number>((resolve) =>
      pgbench.once('close', (code) => resolve(code ?? 1)),
    );
    await new Promise((r) => setTimeout(r, READER_START_MS));

    const reader = new Client({ connectionString: url, application_name: 'reporting' });
    await reader.connect();
    const readerDone = reader
      .query(
        `BEGIN; SELECT count(*) FROM pgbench_accounts; SELECT pg_sleep(${READER_HOLD_S}); COMMIT`,
      )
      .then(() => Date.now());
    await new Promise((r) => setTimeout(r, MIGRATION_DELAY_MS));

    let migrationDone: Promise<number> | undefined;
    const env = { ...process.env, DATABASE_URL: url, PGSHIFT_USER: 'bench' };
    if (mode === 'psql')
      migrationDone = runProcess(join(PG_BIN, 'psql'), [
        url,
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        MIGRATION,
      ]).then(() => Date.now());
    else if (mode === 'node-pg-migrate')
      migrationDone = runProcess(
        process.execPath,
        [NODE_PG_MIGRATE_BIN, 'up', '-m', dirs.npm, '--no-verbose'],
        { env },
      ).then(() => Date.now());
    else if (mode === 'pgshift')
      migrationDone = runProcess(
        process.execPath,
        [
          PGSHIFT_BIN,
          'migrate',
          'up',
          '--dir',
          dirs.guide,
          '--lock-timeout',
          `${LOCK_TIMEOUT_MS}ms`,
        ],
        { env },
      ).then(() => Date.now());

    const readerEnd = await readerDone;
    await reader.end();
    const migrationEnd = migrationDone ? await migrationDone : undefined;
    const code = await pgbenchDone;
    if (code !== 0)
      throw new Error(
        `pgbench exited ${code}: ${Buffer.concat(pgbenchOut).toString().slice(-800)}`,
      );
    const latencies = readLatencies(logDir);
    const figures: RunFigures = {
      transactions: latencies.length,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      max: latencies[latencies.length - 1] ?? NaN,
      ...(migrationEnd !== undefined
        ? { completedAfterReaderS: (migrationEnd - readerEnd) / 1000 }
        : {}),
    };
    log(
      `impact ${mode}: ${figures.transactions} transactions, p50 ${figures.p50.toFixed(1)} ms, p99 ${figures.p99.toFixed(1)} ms, max ${figures.max.toFixed(1)} ms${figures.completedAfterReaderS !== undefined ? `, migration done ${figures.completedAfterReaderS.toFixed(2)} s after the reader ended` : ''}`,
    );
    return figures;
  } finally {
    await infra.dropDatabase(url);
  }
}

function atLeast(label: string, value: number, min: number): Metric {
  return { label, value, unit: 'x', target: `≥ ${min}x`, pass: value >= min };
}

export async function benchImpact(infra: BenchInfra, ctx: BenchContext): Promise<BenchResult> {
  const dirs = writeMigrationFolders(infra.workDir);
  const durationS = 20;
  const modes: Mode[] = ['baseline', 'psql', 'node-pg-migrate', 'pgshift'];
  const repeats = ctx.quick ? 1 : 3;
  const all = {} as Record<Mode, RunFigures[]>;
  for (let run = 0; run < repeats; run++)
    // Rotate the order: no tool always runs first (cold) or last.
    for (const mode of modes.map((_, i) => modes[(i + run) % modes.length]))
      (all[mode] ??= []).push(await runOnce(infra, mode, dirs, durationS, ctx.log));
  const figures = {} as Record<Mode, RunFigures>;
  for (const mode of modes) {
    const runs = all[mode];
    const pick = (key: keyof RunFigures) =>
      median(runs.map((r) => r[key]).filter((v): v is number => v !== undefined));
    figures[mode] = {
      transactions: pick('transactions'),
      p50: pick('p50'),
      p99: pick('p99'),
      max: pick('max'),
      ...(runs[0].completedAfterReaderS !== undefined
        ? { completedAfterReaderS: pick('completedAfterReaderS') }
        : {}),
    };
  }
  const base = figures.baseline;
  const metrics: Metric[] = [];
  for (const mode of modes) {
    const f = figures[mode];
    metrics.push(metric(`${mode}: traffic p50`, f.p50, 'ms'));
    metrics.push(metric(`${mode}: traffic p99`, f.p99, 'ms'));
    metrics.push(metric(`${mode}: traffic max`, f.max, 'ms'));
    if (f.completedAfterReaderS !== undefined)
      metrics.push(
        metric(
          `${mode}: migration done after the reader's end`,
          f.completedAfterReaderS,
          's',
          mode === 'pgshift' ? { max: 2, text: '≤ 2 s' } : undefined,
        ),
      );
  }
  metrics.push(
    metric('pgshift p99 / baseline p99', figures.pgshift.p99 / base.p99, 'x', {
      max: 2,
      text: '≤ 2x',
    }),
    metric('pgshift max − baseline max', figures.pgshift.max - base.max, 'ms', {
      max: LOCK_TIMEOUT_MS,
      text: `≤ ${LOCK_TIMEOUT_MS} ms (lock_timeout)`,
    }),
    atLeast('psql (naive) p99 / baseline p99', figures.psql.p99 / base.p99, 20),
    metric('node-pg-migrate p99 / baseline p99', figures['node-pg-migrate'].p99 / base.p99, 'x'),
  );
  return {
    id: 'impact',
    title: `production impact (median of ${repeats} runs each): ALTER TABLE pgbench_accounts ADD COLUMN behind a ${READER_HOLD_S} s reader, pgbench -R ${RATE} (-c 8 -j 2, ${durationS} s, -s 5)`,
    metrics,
    notes: [
      `timeline per run: pgbench starts at 0 s; the reader (BEGIN; SELECT count(*) FROM pgbench_accounts; pg_sleep(${READER_HOLD_S}); COMMIT) at ${READER_START_MS / 1000} s; the migration ${MIGRATION_DELAY_MS / 1000} s later; fresh database each run`,
      "latencies are pgbench's per-transaction log (-l) over the whole run; with -R they are measured from each transaction's scheduled start, so they include schedule lag",
      `psql: \`psql -c "${MIGRATION}"\` (no lock_timeout); node-pg-migrate: \`node-pg-migrate up\` of a .js migration with pgm.sql(...); pgshift: \`pgshift migrate up --lock-timeout ${LOCK_TIMEOUT_MS}ms\` (the real CLI)`,
    ],
  };
}
