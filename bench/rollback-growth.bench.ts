import { loadavg } from 'node:os';
import { join } from 'node:path';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import type { BenchInfra } from './infra';
import { median, pairedRatio, runProcess } from './measure';
import { PGSHIFT_BIN } from './paths';
import { metric, type BenchContext, type BenchResult } from './report';

/**
 * 2. `pgshift test rollback --all` (the real CLI, run by node as a user would; each run
 * makes its own fresh scratch database) at N, 2N and 4N generated migrations: the growth
 * ratios time(2N)/time(N) and time(4N)/time(2N) show whether rollback testing stays linear,
 * the peak RSS whether memory stays bounded; then one run at 1,500 migrations against the
 * two-minute budget of a large project (skipped with --quick).
 */
export async function benchRollbackGrowth(
  infra: BenchInfra,
  ctx: BenchContext,
): Promise<BenchResult> {
  const base = ctx.quick ? 50 : 100;
  const sizes = [base, base * 2, base * 4];
  const large = ctx.quick ? 0 : 1500;
  const runs = ctx.quick ? 1 : 3;
  const all = generateMigrations(Math.max(sizes[2], large));
  const dirs = new Map<number, string>();
  for (const count of [...sizes, ...(large ? [large] : [])])
    dirs.set(
      count,
      writeGuideFormat(join(infra.workDir, `rollback-${count}`), all.slice(0, count)),
    );
  const times = new Map<number, number[]>(sizes.map((count) => [count, []]));
  const rss = new Map<number, number[]>(sizes.map((count) => [count, []]));
  // CPU time of the CLI and of every PostgreSQL process while it ran: far less sensitive to
  // the load of this shared machine than wall time (absent with TEST_DATABASE_URL).
  const cpu = new Map<number, number[]>(sizes.map((count) => [count, []]));
  const run = async (count: number) => {
    const serverBefore = infra.serverCpuMs();
    const result = await runProcess(
      process.execPath,
      [PGSHIFT_BIN, 'test', 'rollback', '--all', '--dir', dirs.get(count)!],
      { env: { ...process.env, TEST_DATABASE_URL: infra.serverUrl, PGSHIFT_USER: 'bench' } },
    );
    const serverAfter = infra.serverCpuMs();
    const cpuMs =
      serverBefore !== undefined && serverAfter !== undefined && result.cpuMs !== undefined
        ? result.cpuMs + serverAfter - serverBefore
        : undefined;
    ctx.log(
      `test rollback --all, ${count} migrations: ${Math.round(result.wallMs)} ms` +
        (cpuMs !== undefined
          ? `, CPU ${Math.round(cpuMs)} ms (CLI ${Math.round(result.cpuMs!)} ms)`
          : '') +
        `, load ${loadavg()[0].toFixed(2)}`,
    );
    return { ...result, totalCpuMs: cpuMs };
  };
  for (let round = 0; round < runs; round++) {
    // Rotate the order per round, so that a load spike does not always hit the same size.
    const order = sizes.map((_, i) => sizes[(i + round) % sizes.length]);
    for (const count of order) {
      const result = await run(count);
      times.get(count)!.push(result.wallMs);
      if (result.maxRssMb !== undefined) rss.get(count)!.push(result.maxRssMb);
      if (result.totalCpuMs !== undefined) cpu.get(count)!.push(result.totalCpuMs);
    }
  }
  const largeRun = large ? await run(large) : undefined;
  const [small, middle, big] = sizes;
  const series = (count: number) => times.get(count)!;
  const cpuSeries = (count: number) => cpu.get(count)!;
  const measuredCpu = sizes.every((count) => cpuSeries(count).length === runs);
  return {
    id: 'rollback-growth',
    title: `test rollback --all: ${sizes.join(', ')}${large ? ` and ${large}` : ''} generated migrations (real CLI, median of ${runs})`,
    metrics: [
      ...sizes.map((count) =>
        metric(
          `test rollback --all, ${count} migrations`,
          median(series(count)),
          'ms',
          undefined,
          series(count),
        ),
      ),
      metric(
        `growth time(${middle}) / time(${small})`,
        pairedRatio(series(middle), series(small)),
        'x',
        {
          max: 2.1,
          text: '≤ 2.1x',
        },
      ),
      metric(
        `growth time(${big}) / time(${middle})`,
        pairedRatio(series(big), series(middle)),
        'x',
        {
          max: 2.1,
          text: '≤ 2.1x',
        },
      ),
      ...(measuredCpu
        ? [
            ...sizes.map((count) =>
              metric(
                `CPU time (CLI + PostgreSQL), ${count} migrations`,
                median(cpuSeries(count)),
                'ms',
                undefined,
                cpuSeries(count),
              ),
            ),
            metric(
              `CPU growth cpu(${middle}) / cpu(${small})`,
              pairedRatio(cpuSeries(middle), cpuSeries(small)),
              'x',
            ),
            metric(
              `CPU growth cpu(${big}) / cpu(${middle})`,
              pairedRatio(cpuSeries(big), cpuSeries(middle)),
              'x',
            ),
          ]
        : []),
      ...(largeRun
        ? [
            metric(`test rollback --all, ${large} migrations`, largeRun.wallMs, 'ms', {
              max: 120_000,
              text: '< 2 min',
            }),
            ...(largeRun.totalCpuMs !== undefined
              ? [
                  metric(
                    `CPU time (CLI + PostgreSQL), ${large} migrations`,
                    largeRun.totalCpuMs,
                    'ms',
                  ),
                ]
              : []),
            metric(`peak RSS, ${large} migrations`, largeRun.maxRssMb ?? NaN, 'MB', {
              max: 200,
              text: '< 200 MB',
            }),
          ]
        : []),
      ...sizes.map((count) =>
        metric(
          `peak RSS, ${count} migrations`,
          Math.max(...rss.get(count)!),
          'MB',
          { max: 200, text: '< 200 MB' },
          rss.get(count)!,
        ),
      ),
    ],
    notes: [
      'each migration is applied, rolled back, compared with the state before it, and applied again, in one scratch database (`--all` walks forward); the comparison snapshots only what the migration names (and the parts and owners of those objects) plus a catalog guard over the rest',
      'times include process start and loading/parsing the files; a perfectly linear run gives slightly under 2.0x because of that fixed cost; each growth is the median of the per-round ratios (each round runs every size back to back, order rotated per round)',
      'CPU time: user + system time of the CLI (/usr/bin/time -v) plus that of every process of the private PostgreSQL during the run (/proc); it depends far less than wall time on what else runs on the machine',
      'peak RSS: the largest maximum resident set size of the runs (/usr/bin/time -v)',
    ],
  };
}
