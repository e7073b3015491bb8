/**
 * Where `pgshift migrate up` of 200 generated migrations spends its time: the CLI's phases
 * measured in one process (module loading, parser load, reading and parsing the files,
 * connecting, applying), the number of round trips, and the CPU time of the spawned CLI.
 *
 *   npx tsx bench/diagnose-migrate.ts [rounds=3]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  generateMigrations,
  writeGuideFormat,
  writeNodePgMigrateFormat,
} from './generate-migrations';
import { startInfra } from './infra';
import { median, runProcess } from './measure';
import { NODE_PG_MIGRATE_BIN, PGSHIFT_BIN, ROOT } from './paths';

async function main() {
  const rounds = Number(process.argv[2] ?? 3);
  const infra = await startInfra((line) => process.stderr.write(`${line}\n`));
  try {
    const dir = writeGuideFormat(join(infra.workDir, 'diag-200'), generateMigrations(200));
    const phases: Record<string, number[]> = {};
    const add = (name: string, ms: number) => (phases[name] ??= []).push(ms);
    let roundTrips = 0;
    for (let round = 0; round < rounds; round++) {
      const url = await infra.createDatabase('diag');
      try {
        let t = performance.now();
        const lap = (name: string) => {
          const now = performance.now();
          add(name, now - t);
          t = now;
        };
        // Fresh module loads in a child would be truer; in-process they are cached after round 1.
        /* eslint-disable @typescript-eslint/no-require-imports */
        const { loadPlan } = require(join(ROOT, 'dist/src/migrations/files.js'));
        const { connect } = require(join(ROOT, 'dist/src/migrations/database.js'));
        const { migrateUp } = require(join(ROOT, 'dist/src/migrations/runner.js'));
        const { ensureParser } = require(join(ROOT, 'dist/src/migrations/sql-statements.js'));
        /* eslint-enable @typescript-eslint/no-require-imports */
        lap('require library modules');
        await ensureParser();
        lap('load the WebAssembly parser');
        const plan = await loadPlan(dir, { sqlCheck: 'forward' });
        lap('read, parse and check 200 files');
        const client = await connect(url);
        lap('connect');
        const query = client.query.bind(client);
        roundTrips = 0;
        client.query = ((...args: unknown[]) => {
          roundTrips++;
          return (query as (...a: unknown[]) => unknown)(...args);
        }) as typeof client.query;
        await migrateUp(client, plan, {
          lockTimeout: '200ms',
          statementTimeout: '15min',
          advisoryLockWaitMs: 30_000,
          appliedBy: 'diag',
        });
        lap('apply 200 migrations');
        await client.end();
      } finally {
        await infra.dropDatabase(url);
      }
    }
    const npmDir = writeNodePgMigrateFormat(
      join(infra.workDir, 'diag-npm-200'),
      generateMigrations(200),
    );
    const commands: Record<string, string[]> = {
      'pgshift migrate up': [process.execPath, PGSHIFT_BIN, 'migrate', 'up', '--dir', dir],
      'node-pg-migrate up': [
        process.execPath,
        NODE_PG_MIGRATE_BIN,
        'up',
        '-m',
        npmDir,
        '--no-verbose',
      ],
    };
    const spawned: Record<string, { wall: number[]; cpu: number[] }> = {};
    for (let round = 0; round < rounds; round++)
      for (const [name, argv] of Object.entries(commands)) {
        const url = await infra.createDatabase('diag');
        try {
          const started = performance.now();
          const run = await runProcess('/usr/bin/time', ['-f', '%U %S', ...argv], {
            env: { ...process.env, DATABASE_URL: url, PGSHIFT_USER: 'diag' },
          });
          const [user, sys] = (run.stderr.trim().split('\n').pop() ?? '0 0').split(' ').map(Number);
          const entry = (spawned[name] ??= { wall: [], cpu: [] });
          entry.wall.push(performance.now() - started);
          entry.cpu.push((user + sys) * 1000);
        } finally {
          await infra.dropDatabase(url);
        }
      }
    // The check alone, cold: a fresh process requiring the library and loading the plan.
    const checks: { requireMs: number; loadPlanMs: number; cpuMs: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const run = await runProcess(process.execPath, [join(ROOT, 'bench', 'check-cost.js'), dir]);
      checks.push(JSON.parse(run.stdout.trim()));
    }
    const help: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = performance.now();
      await runProcess(process.execPath, [PGSHIFT_BIN, '--help']);
      help.push(performance.now() - started);
    }
    for (const [name, values] of Object.entries(phases))
      process.stdout.write(`${name.padEnd(36)} ${values.map((v) => v.toFixed(0)).join(', ')} ms\n`);
    process.stdout.write(`${'round trips of migrateUp'.padEnd(36)} ${roundTrips}\n`);
    for (const [name, { wall, cpu }] of Object.entries(spawned))
      process.stdout.write(
        `${name.padEnd(36)} wall median ${median(wall).toFixed(0)} ms, CPU (user+sys) median ${median(cpu).toFixed(0)} ms\n`,
      );
    process.stdout.write(
      `${'check, fresh process (require+load)'.padEnd(36)} ${checks.map((c) => `${c.requireMs.toFixed(0)}+${c.loadPlanMs.toFixed(0)} ms (CPU ${c.cpuMs.toFixed(0)})`).join(', ')}\n`,
    );
    process.stdout.write(`${'CLI --help'.padEnd(36)} median ${median(help).toFixed(0)} ms\n`);
  } finally {
    await infra.stop();
  }
}

void main();
