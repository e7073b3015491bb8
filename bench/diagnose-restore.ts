/**
 * Where restoreBackup's time goes against a bare pg_restore, on the benchmark's 1 GB data:
 * alternates bare `pg_restore -j N` (fresh database), the same with `--exit-on-error
 * --verbose` through runTool, the bare one with the dump hashed beside it, and restoreBackup.
 *
 *   npx tsx bench/diagnose-restore.ts [rounds=4] [sizeMb=1000]
 */
import { join } from 'node:path';
import { createBackup, defaultJobs, findPgTool, restoreBackup } from '../src/backup';
import { digestDump } from '../src/backup/checksum';
import { toolConnection } from '../src/backup/connection-args';
import { runTool } from '../src/backup/run-tool';
import { generateData } from './generate-data';
import { startInfra } from './infra';
import { median, runProcess, timeIt } from './measure';

async function main() {
  const rounds = Number(process.argv[2] ?? 4);
  const sizeMb = Number(process.argv[3] ?? 1000);
  const infra = await startInfra((line) => process.stderr.write(`${line}\n`));
  try {
    const production = await infra.createDatabase('production');
    await generateData(production, sizeMb);
    const dir = join(infra.workDir, 'backups');
    const manifest = await createBackup({ databaseUrl: production, dir, name: 'diag' });
    const backupDir = join(dir, manifest.name);
    const dump = join(backupDir, manifest.dumpPath);
    const jobs = defaultJobs();
    const pgRestore = (await findPgTool('pg_restore', 15)).path;
    const fresh = async (fn: (url: string) => Promise<unknown>) => {
      const url = await infra.createDatabase('diag');
      try {
        return (await timeIt(() => fn(url))).ms;
      } finally {
        await infra.dropDatabase(url);
      }
    };
    const variants: Record<string, () => Promise<number>> = {
      bare: () =>
        fresh(async (url) => {
          const conn = toolConnection(url);
          await runProcess(pgRestore, [...conn.args, '-j', String(jobs), dump], {
            env: { ...process.env, ...conn.env },
          });
        }),
      'runTool --exit-on-error --verbose': () =>
        fresh(async (url) => {
          const conn = toolConnection(url);
          const run = await runTool(
            pgRestore,
            [...conn.args, '--exit-on-error', '--verbose', '--jobs', String(jobs), dump],
            { env: conn.env, onStderrLine: () => undefined },
          );
          if (run.exitCode !== 0) throw new Error(run.stderrTail);
        }),
      'bare + sha256 of the dump beside it': () =>
        fresh(async (url) => {
          const conn = toolConnection(url);
          await Promise.all([
            runProcess(pgRestore, [...conn.args, '-j', String(jobs), dump], {
              env: { ...process.env, ...conn.env },
            }),
            digestDump(dump),
          ]);
        }),
      restoreBackup: async () =>
        (await timeIt(() => restoreBackup({ databaseUrl: production, backupDir, jobs }))).ms,
    };
    const times: Record<string, number[]> = {};
    const names = Object.keys(variants);
    for (let round = 0; round < rounds; round++)
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length];
        const ms = await variants[name]();
        (times[name] ??= []).push(ms);
        process.stderr.write(`round ${round + 1} ${name}: ${Math.round(ms)} ms\n`);
      }
    const bare = median(times.bare);
    for (const name of names)
      process.stdout.write(
        `${name.padEnd(40)} ${Math.round(median(times[name]))} ms  ${(median(times[name]) / bare).toFixed(3)}x  [${times[name].map(Math.round).join(', ')}]\n`,
      );
  } finally {
    await infra.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
