/**
 * Which pg_dump compression suits the emergency backup: on a ~1 GB generated database, for
 * each level, `createBackup` alone and `createBackup` concurrently with `restoreBackup` of the
 * deploy's backup (swap after the dump, as `restoreWithEmergencyBackup` does), beside a bare
 * `pg_restore -j N` of the same deploy backup, rounds interleaved.
 *
 *   npx tsx bench/dump-compression.ts [sizeMb=1000] [rounds=3] [levels=default,1,0]
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createBackup, defaultJobs, restoreBackup } from '../src/backup';
import { toolConnection } from '../src/backup/connection-args';
import { findPgTool } from '../src/backup/pg-tools';
import { generateData } from './generate-data';
import { startInfra } from './infra';
import { median, runProcess, timeIt } from './measure';

async function main(): Promise<void> {
  const sizeMb = Number(process.argv[2] ?? 1000);
  const rounds = Number(process.argv[3] ?? 3);
  const levels = (process.argv[4] ?? 'default,1,0')
    .split(',')
    .map((l) => (l === 'default' ? undefined : Number(l)));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const infra = await startInfra(log);
  try {
    const live = await infra.createDatabase('live');
    log(`generating ~${sizeMb} MB…`);
    await generateData(live, sizeMb);
    const dir = join(infra.workDir, 'backups');
    const deploy = await createBackup({ databaseUrl: live, dir, name: 'deploy' });
    const jobs = defaultJobs();
    const pgRestore = await findPgTool('pg_restore', 15);
    const bare = async () => {
      const url = await infra.createDatabase('bare');
      try {
        return (
          await timeIt(async () => {
            const conn = toolConnection(url);
            await runProcess(
              pgRestore.path,
              [...conn.args, '-j', String(jobs), join(dir, 'deploy', deploy.dumpPath)],
              { env: { ...process.env, ...conn.env } },
            );
          })
        ).ms;
      } finally {
        await infra.dropDatabase(url);
      }
    };
    const rows: string[] = [];
    const results = new Map<string, { alone: number[]; size: number[]; both: number[] }>();
    const bares: number[] = [];
    let n = 0;
    for (let round = 0; round < rounds; round++)
      for (const level of levels) {
        const key = String(level ?? 'default');
        const r = results.get(key) ?? { alone: [], size: [], both: [] };
        results.set(key, r);
        const name = `emergency-${n++}`;
        const alone = await timeIt(() =>
          createBackup({ databaseUrl: live, dir, name, compression: level }),
        );
        rmSync(join(dir, name), { recursive: true, force: true });
        r.alone.push(alone.ms);
        r.size.push(alone.value.sizeBytes);
        const both = await timeIt(async () => {
          const backup = createBackup({
            databaseUrl: live,
            dir,
            name: `${name}-c`,
            compression: level,
          });
          backup.catch(() => undefined);
          await restoreBackup({
            databaseUrl: live,
            backupDir: join(dir, 'deploy'),
            jobs,
            beforeSwap: async () => void (await backup),
          });
        });
        rmSync(join(dir, `${name}-c`), { recursive: true, force: true });
        r.both.push(both.ms);
        const b = await bare();
        bares.push(b);
        log(
          `round ${round + 1} level ${key}: dump alone ${Math.round(alone.ms)} ms (${(alone.value.sizeBytes / 1048576).toFixed(0)} MB), dump ‖ restore ${Math.round(both.ms)} ms, bare pg_restore ${Math.round(b)} ms`,
        );
      }
    const bareMedian = median(bares);
    rows.push(
      '| pg_dump --compress | size | createBackup alone | createBackup ‖ restoreBackup | ratio to bare pg_restore |',
      '|---|---|---|---|---|',
    );
    for (const [key, r] of results)
      rows.push(
        `| ${key} | ${(median(r.size) / 1048576).toFixed(0)} MB | ${(median(r.alone) / 1000).toFixed(1)} s | ${(median(r.both) / 1000).toFixed(1)} s | ${(median(r.both) / bareMedian).toFixed(2)}x |`,
      );
    rows.push(`bare pg_restore -j ${jobs}: median ${(bareMedian / 1000).toFixed(1)} s`);
    process.stdout.write(rows.join('\n') + '\n');
  } finally {
    await infra.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exitCode = 1;
});
