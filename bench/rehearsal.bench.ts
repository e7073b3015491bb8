import { join } from 'node:path';
import { createActivities } from '../activities';
import { parseConfig } from '../src/config';
import { loadPlan, planChecksum } from '../src/migrations/files';
import type { MigrationPlan } from '../src/migrations/types';
import type { StagingRehearsalInput, StagingRehearsalResult } from '../workflows/definitions';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import type { BenchInfra } from './infra';
import { median, pairedRatio, timeIt } from './measure';
import { metric, type BenchContext, type BenchResult } from './report';
import { rehearseDirectly } from './rehearsal-direct';
import { startBenchWorker } from './temporal-harness';

/**
 * 3. The `stagingRehearsal` workflow on N generated migrations against a fresh database,
 * through a real Temporal dev server and an in-process worker, vs the same activities
 * called in the same order directly (bench/rehearsal-direct.ts). Runs alternate.
 */
export async function benchRehearsal(infra: BenchInfra, ctx: BenchContext): Promise<BenchResult> {
  const count = ctx.quick ? 50 : 200;
  const runs = ctx.quick ? 2 : 3;
  const dir = writeGuideFormat(
    join(infra.workDir, `rehearsal-${count}`),
    generateMigrations(count),
  );
  const plan = await loadPlan(dir);
  const environment = 'staging';
  const config = (label: string) =>
    parseConfig(
      {
        backupsDir: join(infra.workDir, `rehearsal-backups-${label}`),
        reportsDir: join(infra.workDir, `rehearsal-reports-${label}`),
        environments: {
          staging: {
            criticalTables: ['bench_t001', 'bench_t002'],
            checks: [{ name: 'reporting view answers', sql: 'SELECT 1', expect: 'non-empty' }],
          },
        },
      },
      null,
    );
  // The staging database changes per run: activities read it from this env object.
  const env: NodeJS.ProcessEnv = {};
  const deps = { env, scratchServerUrl: infra.serverUrl };
  const viaTemporal = createActivities({ ...deps, config: config('temporal') });
  const direct = createActivities({ ...deps, config: config('direct') });
  ctx.log('bundling the workflows and starting the worker (not timed)…');
  const worker = await startBenchWorker(infra, viaTemporal);

  const rehearse = async (mode: 'temporal' | 'direct', which: MigrationPlan, runId: string) => {
    const url = await infra.createDatabase('staging');
    env.STAGING_DATABASE_URL = url;
    try {
      return await timeIt(async () => {
        if (mode === 'direct')
          return rehearseDirectly(direct, { environment, plan: which, initiator: 'bench', runId });
        const result = (await worker.client.workflow.execute('stagingRehearsal', {
          taskQueue: worker.taskQueue,
          workflowId: runId,
          args: [
            {
              environment,
              plan: which,
              initiator: 'bench',
              options: {},
            } satisfies StagingRehearsalInput,
          ],
        })) as StagingRehearsalResult;
        if (result.finalState !== 'passed') throw new Error(`rehearsal failed: ${result.failure}`);
        return result;
      });
    } finally {
      await infra.dropDatabase(url);
    }
  };

  const times: Record<'temporal' | 'direct', number[]> = { temporal: [], direct: [] };
  try {
    // Warm-up, not timed: one-time costs (the worker's workflow isolate, the SQL parser's
    // WebAssembly, squawk's first start) are paid once by each side on a 5-migration plan.
    const warmUp: MigrationPlan = {
      checksum: '',
      migrations: plan.migrations.slice(0, 5),
    };
    warmUp.checksum = planChecksum(warmUp.migrations);
    for (const mode of ['temporal', 'direct'] as const)
      await rehearse(mode, warmUp, `rehearsal-bench-warmup-${mode}-${Date.now()}`);
    for (let run = 0; run < runs; run++) {
      for (const mode of run % 2
        ? (['direct', 'temporal'] as const)
        : (['temporal', 'direct'] as const)) {
        const { ms } = await rehearse(mode, plan, `rehearsal-bench-${mode}-${run}-${Date.now()}`);
        times[mode].push(ms);
        ctx.log(`rehearsal run ${run + 1}/${runs} ${mode}: ${Math.round(ms)} ms`);
      }
    }
  } finally {
    await worker.stop();
  }
  const ratio = pairedRatio(times.temporal, times.direct);
  return {
    id: 'rehearsal',
    title: `staging rehearsal: ${count} generated migrations on a fresh database (median of ${runs})`,
    metrics: [
      metric(
        'stagingRehearsal workflow (Temporal)',
        median(times.temporal) / 1000,
        's',
        undefined,
        times.temporal.map((t) => t / 1000),
      ),
      metric(
        'same activities called directly',
        median(times.direct) / 1000,
        's',
        undefined,
        times.direct.map((t) => t / 1000),
      ),
      metric('ratio Temporal / direct', ratio, 'x', { max: 1.3, text: '≤ 1.3x' }),
    ],
    notes: [
      'steps: validate (integrity, deps, safety) → pg_dump backup → row counts + schema snapshot → apply with stops at the rehearsal targets (snapshots) → verify → roll back to each target and compare schema → re-apply → rollback tests of every migration in a scratch database → functional checks → certificate → report',
      'Temporal side: real dev server (SQLite in memory), in-process worker, the workflow bundled before timing; timed from start to result',
      'both sides first run an untimed warm-up rehearsal of 5 migrations (workflow isolate, parser WebAssembly, squawk); the ratio is the median of the per-round ratios (each round runs both back to back)',
      'direct side: the same activity functions with the same inputs in the same order, each in a MockActivityEnvironment (activity context only)',
    ],
  };
}
