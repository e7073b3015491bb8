import { join } from 'node:path';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import type { BenchInfra } from './infra';
import { median, pairedRatio, runProcess } from './measure';
import { PGSHIFT_BIN } from './paths';
import { metric, type BenchContext, type BenchResult } from './report';

/**
 * 2. `pgshift test rollback --all` (the real CLI) at N and 2N generated migrations: the
 * growth ratio time(2N)/time(N) shows whether rollback testing stays linear, and the peak
 * RSS whether memory stays bounded.
 */
export async function benchRollbackGrowth(
  infra: BenchInfra,
  ctx: BenchContext,
): Promise<BenchResult> {
  const small = ctx.quick ? 50 : 100;
  const large = small * 2;
  const runs = ctx.quick ? 1 : 3;
  const all = generateMigrations(large);
  const dirs = {
    [small]: writeGuideFormat(join(infra.workDir, `rollback-${small}`), all.slice(0, small)),
    [large]: writeGuideFormat(join(infra.workDir, `rollback-${large}`), all),
  };
  const times: Record<number, number[]> = { [small]: [], [large]: [] };
  const rss: Record<number, number[]> = { [small]: [], [large]: [] };
  for (let run = 0; run < runs; run++) {
    for (const count of run % 2 ? [large, small] : [small, large]) {
      const result = await runProcess(
        process.execPath,
        [PGSHIFT_BIN, 'test', 'rollback', '--all', '--dir', dirs[count]],
        { env: { ...process.env, TEST_DATABASE_URL: infra.serverUrl, PGSHIFT_USER: 'bench' } },
      );
      times[count].push(result.wallMs);
      if (result.maxRssMb !== undefined) rss[count].push(result.maxRssMb);
      ctx.log(`test rollback --all, ${count} migrations: ${Math.round(result.wallMs)} ms`);
    }
  }
  const growth = pairedRatio(times[large], times[small]);
  return {
    id: 'rollback-growth',
    title: `test rollback --all: ${small} vs ${large} generated migrations (real CLI, median of ${runs})`,
    metrics: [
      metric(
        `test rollback --all, ${small} migrations`,
        median(times[small]),
        'ms',
        undefined,
        times[small],
      ),
      metric(
        `test rollback --all, ${large} migrations`,
        median(times[large]),
        'ms',
        undefined,
        times[large],
      ),
      metric(`growth time(${large}) / time(${small})`, growth, 'x', { max: 2.3, text: '≤ 2.3x' }),
      metric(
        `peak RSS, ${small} migrations`,
        Math.max(...rss[small]),
        'MB',
        { max: 200, text: '< 200 MB' },
        rss[small],
      ),
      metric(
        `peak RSS, ${large} migrations`,
        Math.max(...rss[large]),
        'MB',
        { max: 200, text: '< 200 MB' },
        rss[large],
      ),
    ],
    notes: [
      'each migration is applied, rolled back, compared with the catalog snapshot taken before it, and applied again, in one scratch database (`--all` walks forward)',
      'times include process start and loading/parsing the files; a perfectly linear run gives slightly under 2.0x because of that fixed cost; the growth is the median of the per-round ratios (each round runs both sizes back to back)',
      'peak RSS: the largest maximum resident set size of the runs (/usr/bin/time -v)',
    ],
  };
}
