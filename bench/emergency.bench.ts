import { join } from 'node:path';
import { createBackup, restoreBackup, defaultJobs } from '../src/backup';
import { toolConnection } from '../src/backup/connection-args';
import { findPgTool } from '../src/backup/pg-tools';
import { findPostgresBin } from '../src/dev/local/postgres-server';
import { withClient } from '../src/migrations/database';
import { loadPlan } from '../src/migrations/files';
import { migrateDown, migrateUp } from '../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../src/migrations/types';
import { generateData } from './generate-data';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import type { BenchInfra } from './infra';
import { median, pairedRatio, runProcess, settle, timeIt } from './measure';
import { PGSHIFT_BIN } from './paths';
import { metric, type BenchContext, type BenchResult, type Metric } from './report';
import { benchEmergencyWorkflow } from './emergency-workflow';

const RUNNER = { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'bench' };

/**
 * 4. Emergency rollback figures of issue 5:
 *  a) restoring a backup of a ~1 GB generated database (100 MB with --quick): pgshift's
 *     `restoreBackup` (checksum check, pg_restore -j into a scratch database, swap) vs a bare
 *     `pg_restore -j N -d` of the same dump into a fresh database;
 *  b) when workflows/emergency-rollback.ts is there: the whole emergencyRollback workflow
 *     (--full-emergency with break-glass, restoring the deploy's backup) vs the same bare restore;
 *  c) rolling back 10 migrations: the library's migrateDown and the CLI's `migrate down`
 *     vs the same rollback files run with `psql -f`, one after the other.
 */
export async function benchEmergency(infra: BenchInfra, ctx: BenchContext): Promise<BenchResult> {
  const sizeMb = ctx.quick ? 100 : 1000;
  const runs = ctx.quick ? 2 : 5;
  const metrics: Metric[] = [];
  const notes: string[] = [];

  // ── a) restore ──
  const productionUrl = await infra.createDatabase('production');
  ctx.log(`generating ~${sizeMb} MB of data…`);
  const generated = await timeIt(() => generateData(productionUrl, sizeMb));
  const sizeMbActual = generated.value.sizeBytes / 1024 / 1024;
  ctx.log(
    `generated ${sizeMbActual.toFixed(0)} MB (${generated.value.rows} rows) in ${Math.round(generated.ms / 1000)} s`,
  );
  // The state before the deploy: a few migrations applied (the backup records the ledger).
  const backupVersion = 5;
  const deployPlan = await loadPlan(
    writeGuideFormat(
      join(infra.workDir, 'emergency-deploy'),
      generateMigrations(backupVersion * 2),
    ),
  );
  await withClient(productionUrl, (c) =>
    migrateUp(c, deployPlan, { ...RUNNER, to: backupVersion }),
  );
  const backupsDir = join(infra.workDir, 'emergency-backups', 'production');
  const backup = await timeIt(() =>
    createBackup({ databaseUrl: productionUrl, dir: backupsDir, name: 'bench-before-deploy' }),
  );
  const manifest = backup.value;
  const backupDir = join(backupsDir, manifest.name);
  const dumpPath = join(backupDir, manifest.dumpPath);
  ctx.log(
    `backup: ${(manifest.sizeBytes / 1024 / 1024).toFixed(0)} MB in ${Math.round(backup.ms)} ms`,
  );
  const jobs = defaultJobs();
  const pgRestore = await findPgTool('pg_restore', 15);

  const bareRestore = async () => {
    let url: string | undefined;
    await settle();
    try {
      // Creating the fresh database is part of the bare procedure: it is inside the timing.
      return await timeIt(async () => {
        url = await infra.createDatabase('bare_restore');
        const conn = toolConnection(url);
        await runProcess(pgRestore.path, [...conn.args, '-j', String(jobs), dumpPath], {
          env: { ...process.env, ...conn.env },
        });
      });
    } finally {
      if (url) await infra.dropDatabase(url);
    }
  };
  const times = { pgshift: [] as number[], bare: [] as number[] };
  const phases = { checksum: [] as number[], pgRestore: [] as number[], rest: [] as number[] };
  for (let run = 0; run < runs; run++) {
    for (const mode of run % 2 ? (['bare', 'pgshift'] as const) : (['pgshift', 'bare'] as const)) {
      let ms: number;
      if (mode === 'bare') ms = (await bareRestore()).ms;
      else {
        await settle();
        const restored = await timeIt(() =>
          restoreBackup({ databaseUrl: productionUrl, backupDir, jobs }),
        );
        ms = restored.ms;
        phases.checksum.push(restored.value.checksumMs);
        phases.pgRestore.push(restored.value.restoreMs);
        phases.rest.push(restored.value.durationMs - restored.value.restoreMs);
      }
      times[mode].push(ms);
      ctx.log(`restore run ${run + 1}/${runs} ${mode}: ${Math.round(ms)} ms`);
    }
  }
  const bareMedian = median(times.bare);
  metrics.push(
    metric('database size (pg_database_size)', sizeMbActual, 'MB'),
    metric('backup (pg_dump -Fd) size', manifest.sizeBytes / 1024 / 1024, 'MB'),
    metric(
      'pgshift restoreBackup',
      median(times.pgshift) / 1000,
      's',
      undefined,
      times.pgshift.map((t) => t / 1000),
    ),
    metric(
      `bare pg_restore -j ${jobs} -d (fresh database)`,
      bareMedian / 1000,
      's',
      undefined,
      times.bare.map((t) => t / 1000),
    ),
    metric('ratio restoreBackup / bare pg_restore', pairedRatio(times.pgshift, times.bare), 'x', {
      max: 1.2,
      text: '≤ 1.2x',
    }),
    metric(
      '  restoreBackup: every file checksummed after (overlaps pg_restore)',
      median(phases.checksum),
      'ms',
      undefined,
      phases.checksum,
    ),
    metric(
      '  restoreBackup: pg_restore into the scratch database',
      median(phases.pgRestore),
      'ms',
      undefined,
      phases.pgRestore,
    ),
    metric(
      '  restoreBackup: all but pg_restore (toc.dat check, create scratch, swap: drop old, rename)',
      median(phases.rest),
      'ms',
      undefined,
      phases.rest,
    ),
  );
  notes.push(
    `restoreBackup = sha256 of toc.dat (every statement pg_restore runs) checked against the manifest + pg_restore -j ${jobs} into a scratch database while the row data files are hashed + drop the old database + rename (the live database keeps serving until the swap); bare = CREATE DATABASE + pg_restore -j ${jobs} -d`,
    `data: 3 tables (customers, events, payments) with primary keys and 3 secondary indexes, ${generated.value.rows} rows, generated in ${Math.round(generated.ms / 1000)} s; backup taken in ${(backup.ms / 1000).toFixed(1)} s`,
  );

  // ── b) the whole emergencyRollback workflow, when it exists ──
  try {
    const workflow = await benchEmergencyWorkflow(infra, ctx, {
      productionUrl,
      backupsRoot: join(infra.workDir, 'emergency-backups'),
      backupId: manifest.name,
      backupVersion,
      plan: deployPlan,
      runs,
      bareRestore: async () => (await bareRestore()).ms,
    });
    if (workflow) {
      metrics.push(
        metric(
          'emergencyRollback workflow, --full-emergency (break-glass)',
          workflow.medianMs / 1000,
          's',
          undefined,
          workflow.times.map((t) => t / 1000),
        ),
        metric(
          'bare pg_restore, run beside each workflow run',
          median(workflow.bareTimes) / 1000,
          's',
          undefined,
          workflow.bareTimes.map((t) => t / 1000),
        ),
        metric(
          'ratio workflow / bare pg_restore',
          pairedRatio(workflow.times, workflow.bareTimes),
          'x',
          {
            max: 1.2,
            text: '≤ 1.2x',
          },
        ),
      );
      if (workflow.emergencyBackup === 'dump-during-restore' && workflow.emergencyBackupStepMs)
        metrics.push(
          metric(
            '  of which: emergency backup (pg_dump --compress=0, during the restore)',
            workflow.emergencyBackupStepMs / 1000,
            's',
          ),
        );
      if (workflow.restoreStepMs !== undefined)
        metrics.push(
          metric(
            workflow.emergencyBackup === 'kept-and-archived'
              ? '  of which: restore backup step (pg_restore, swap keeping the replaced database)'
              : '  of which: restore backup step',
            workflow.restoreStepMs / 1000,
            's',
          ),
          metric(
            'ratio restore step / bare pg_restore',
            workflow.restoreStepMs / median(workflow.bareTimes),
            'x',
          ),
        );
      if (workflow.archiveMs !== undefined && workflow.untilArchivedMs !== undefined)
        metrics.push(
          metric(
            '  afterwards: archive child workflow (pg_dump of the kept database, drop)',
            workflow.archiveMs / 1000,
            's',
          ),
          metric('  rollback start → archive complete', workflow.untilArchivedMs / 1000, 's'),
        );
      notes.push(...workflow.notes);
    } else
      notes.push(
        'workflow emergencyRollback not exported from workflows/index.ts: whole-workflow timing skipped',
      );
  } catch (error) {
    notes.push(
      `emergencyRollback workflow timing failed: ${(error as Error).message.split('\n')[0]}`,
    );
    ctx.log(`emergencyRollback workflow: ${(error as Error).stack}`);
  }
  await infra.dropDatabase(productionUrl);

  // ── c) rolling back 10 migrations ──
  metrics.push(...(await benchMigrationRollback(infra, ctx, notes)));
  return {
    id: 'emergency',
    title: `emergency rollback: restore of a ~${sizeMb} MB database, rollback of 10 migrations (median of ${runs} / 5)`,
    metrics,
    notes,
  };
}

async function benchMigrationRollback(
  infra: BenchInfra,
  ctx: BenchContext,
  notes: string[],
): Promise<Metric[]> {
  const total = 30;
  const target = total - 10;
  const runs = 5;
  const dir = writeGuideFormat(join(infra.workDir, 'rollback-10'), generateMigrations(total));
  const plan = await loadPlan(dir);
  const psql = join(findPostgresBin(), 'psql');
  const prepared = async () => {
    const url = await infra.createDatabase('rollback10');
    await withClient(url, (c) => migrateUp(c, plan, RUNNER));
    return url;
  };
  const rollbackFiles = (p: MigrationPlan) =>
    p.migrations.filter((m) => m.version > target).sort((a, b) => b.version - a.version);
  const methods: Record<string, (url: string) => Promise<number>> = {
    'library migrateDown': async (url) =>
      (await withClient(url, (c) => timeIt(() => migrateDown(c, plan, target, RUNNER)))).ms,
    'CLI migrate down': async (url) =>
      (
        await runProcess(
          process.execPath,
          [PGSHIFT_BIN, 'migrate', 'down', String(target), '--dir', dir],
          {
            env: { ...process.env, DATABASE_URL: url, PGSHIFT_USER: 'bench' },
          },
        )
      ).wallMs,
    'psql -f, one file after the other': async (url) => {
      const conn = toolConnection(url);
      const { ms } = await timeIt(async () => {
        for (const m of rollbackFiles(plan))
          await runProcess(
            psql,
            [...conn.args, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', join(dir, m.rollback.file)],
            {
              env: { ...process.env, ...conn.env },
            },
          );
      });
      return ms;
    },
  };
  const times: Record<string, number[]> = {};
  const names = Object.keys(methods);
  for (let run = 0; run < runs; run++)
    for (const name of names.map((_, i) => names[(i + run) % names.length])) {
      const url = await prepared();
      try {
        (times[name] ??= []).push(await methods[name](url));
      } finally {
        await infra.dropDatabase(url);
      }
    }
  const psqlMedian = median(times['psql -f, one file after the other']);
  ctx.log(
    `rollback of 10 migrations: ${names.map((n) => `${n} ${Math.round(median(times[n]))} ms`).join(', ')}`,
  );
  notes.push(
    `rollback of 10 migrations: ${total} generated migrations applied, rolled back to ${target}; the library and the CLI also delete the ledger rows (each rollback file with its ledger row in one transaction), psql only runs the files`,
  );
  return [
    ...names.map((n) =>
      metric(`rollback 10 migrations: ${n}`, median(times[n]), 'ms', undefined, times[n]),
    ),
    metric(
      'ratio library migrateDown / psql -f',
      median(times['library migrateDown']) / psqlMedian,
      'x',
    ),
    metric('ratio CLI migrate down / psql -f', median(times['CLI migrate down']) / psqlMedian, 'x'),
  ];
}
