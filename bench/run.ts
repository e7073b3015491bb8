import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchEmergency } from './emergency.bench';
import { benchImpact } from './impact.bench';
import { startInfra, type BenchInfra } from './infra';
import { benchMigrate } from './migrate.bench';
import { ROOT, assertBuilt } from './paths';
import { benchRehearsal } from './rehearsal.bench';
import { formatMarkdown, formatTable, type BenchContext, type BenchResult } from './report';
import { benchRollbackGrowth } from './rollback-growth.bench';

/**
 * `npm run bench [-- --only migrate,rollback-growth,rehearsal,emergency,impact] [--quick] [--no-build]`
 *
 * Starts its own PostgreSQL (or uses TEST_DATABASE_URL) and, for the rehearsal and the
 * emergency workflow, its own Temporal dev server (or TEMPORAL_ADDRESS); prints one table
 * per benchmark and writes bench/results/latest.json (and latest.md).
 */
const BENCHMARKS: Record<string, (infra: BenchInfra, ctx: BenchContext) => Promise<BenchResult>> = {
  migrate: benchMigrate,
  'rollback-growth': benchRollbackGrowth,
  rehearsal: benchRehearsal,
  emergency: benchEmergency,
  impact: benchImpact,
};

interface Args {
  only: string[];
  quick: boolean;
  build: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { only: Object.keys(BENCHMARKS), quick: false, build: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') args.quick = true;
    else if (arg === '--no-build') args.build = false;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      args.only = (value ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = args.only.filter((name) => !(name in BENCHMARKS));
      if (unknown.length || args.only.length === 0)
        throw new Error(
          `--only ${value ?? ''}: unknown benchmark ${unknown.join(', ') || '(none given)'}; choose from ${Object.keys(BENCHMARKS).join(', ')}`,
        );
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(
        `usage: npm run bench -- [--only ${Object.keys(BENCHMARKS).join(',')}] [--quick] [--no-build]\n`,
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${arg} (try --help)`);
  }
  return args;
}

function machine() {
  const pgVersion = (() => {
    try {
      return execFileSync('/usr/lib/postgresql/15/bin/postgres', ['--version']).toString().trim();
    } catch {
      return 'unknown';
    }
  })();
  return {
    cpu: `${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'})`,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    postgres: pgVersion,
    platform: `${process.platform} ${process.arch}`,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (line: string) =>
    process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);
  if (args.build) {
    log('building (tsc -p tsconfig.json)…');
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
        { cwd: ROOT, stdio: 'inherit' },
      );
    } catch {
      // tsc still emits on type errors: go on with dist/ as built, but say so.
      log('warning: tsc reported errors (see above); benchmarking dist/ as emitted');
    }
  }
  assertBuilt();
  const started = Date.now();
  const loadBefore = loadavg()[0];
  const infra = await startInfra(log);
  const results: BenchResult[] = [];
  const failures: { id: string; error: string }[] = [];
  const ctx: BenchContext = { quick: args.quick, log };
  try {
    for (const id of args.only) {
      log(`running ${id}${args.quick ? ' (quick)' : ''}…`);
      const benchStarted = Date.now();
      try {
        const result = await BENCHMARKS[id](infra, ctx);
        results.push(result);
        process.stdout.write(formatTable(result) + '\n');
        log(`${id} took ${((Date.now() - benchStarted) / 1000).toFixed(0)} s`);
      } catch (error) {
        const message = (error as Error).stack ?? String(error);
        failures.push({ id, error: message });
        log(`${id} FAILED: ${message}`);
      }
    }
  } finally {
    await infra.stop();
  }
  const report = {
    at: new Date().toISOString(),
    quick: args.quick,
    durationS: Math.round((Date.now() - started) / 1000),
    machine: machine(),
    // Other work on the machine skews timings: the 1-minute load average before and after.
    loadAverage: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0].toFixed(2)) },
    results,
    failures,
  };
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // Formatted as prettier would (CI runs `prettier --check .` over the committed tree).
  const { format } = await import('prettier');
  writeFileSync(join(dir, 'latest.json'), await format(JSON.stringify(report), { parser: 'json' }));
  writeFileSync(
    join(dir, 'latest.md'),
    [
      `Run at ${report.at}${args.quick ? ' (--quick)' : ''}, ${report.durationS} s in all.`,
      `Machine: ${report.machine.cpu}, ${report.machine.memoryGiB} GiB, ${report.machine.platform}, Node ${report.machine.node}, ${report.machine.postgres}.`,
      `1-minute load average: ${report.loadAverage.before} before, ${report.loadAverage.after} after.`,
      '',
      ...results.map(formatMarkdown),
    ].join('\n'),
  );
  log(`wrote bench/results/latest.json and latest.md (${report.durationS} s in all)`);
  // Native Temporal handles can keep the event loop alive after everything was stopped.
  process.exit(failures.length ? 1 : 0);
}

main().catch((error) => {
  process.stderr.write(`[bench] ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
