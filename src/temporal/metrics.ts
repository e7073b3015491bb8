import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * pgshift's own Prometheus metrics (the guide's critical metrics), kept in memory by the
 * worker process and served in the Prometheus text format next to the SDK's runtime metrics.
 */

type Labels = Record<string, string>;

const labelKey = (labels: Labels) =>
  Object.keys(labels)
    .sort()
    .map(
      (k) =>
        `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`,
    )
    .join(',');

const braces = (key: string) => (key ? `{${key}}` : '');

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${braces(key)} ${value}`);
    return lines;
  }
}

/** Seconds buckets from 50 ms to 1 h: quick reads to long pg_dumps and 200-migration runs. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

export class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = DURATION_BUCKETS,
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound) s!.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }
  count(labels: Labels): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const sep = key ? ',' : '';
      this.buckets.forEach((bound, i) =>
        lines.push(`${this.name}_bucket{${key}${sep}le="${bound}"} ${s.counts[i]}`),
      );
      lines.push(`${this.name}_bucket{${key}${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${braces(key)} ${s.sum}`);
      lines.push(`${this.name}_count${braces(key)} ${s.count}`);
    }
    return lines;
  }
}

/** A success ratio computed at scrape time from a counter with an `outcome` label. */
class SuccessRate {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly counter: Counter,
  ) {}
  render(): string[] {
    const ok = this.counter.get({ outcome: 'success' });
    const total = ok + this.counter.get({ outcome: 'failure' });
    if (total === 0) return [];
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${ok / total}`,
    ];
  }
}

export class PgshiftMetrics {
  readonly activities = new Counter(
    'pgshift_activities_total',
    'Activity attempts by activity type and outcome (success, failure, cancelled).',
  );
  readonly activityDuration = new Histogram(
    'pgshift_activity_duration_seconds',
    'Duration of activity attempts (the steps of rehearsals, deploys and rollbacks), by activity type.',
  );
  readonly migrations = new Counter(
    'pgshift_migrations_total',
    'Migration runs (applyMigrations attempts) by outcome.',
  );
  readonly rollbacks = new Counter(
    'pgshift_rollbacks_total',
    'Rollback attempts by kind (migration, restore, application) and outcome.',
  );
  readonly lockWaitSeconds = new Counter(
    'pgshift_migration_lock_wait_seconds_total',
    'Time migrations waited for locks held by other sessions; outcome="gave_up" when the lock wait budget ran out.',
  );
  readonly lockAttempts = new Counter(
    'pgshift_migration_lock_attempts_total',
    'Attempts to apply migrations that had to wait for locks (each attempt runs with the short lock_timeout).',
  );
  private readonly rollbackOutcomes = new Counter('pgshift_rollbacks_by_outcome', '');
  private readonly rates = [
    new SuccessRate(
      'pgshift_migration_success_rate',
      'Share of migration runs that succeeded (0-1) since the worker started.',
      this.migrations,
    ),
    new SuccessRate(
      'pgshift_rollback_success_rate',
      'Share of rollback attempts that succeeded (0-1) since the worker started.',
      this.rollbackOutcomes,
    ),
  ];

  recordLockWait(waitedMs: number, attempts: number, gaveUp = false): void {
    const outcome = gaveUp ? 'gave_up' : 'applied';
    this.lockWaitSeconds.inc({ outcome }, waitedMs / 1000);
    this.lockAttempts.inc({ outcome }, attempts);
  }

  recordRollback(kind: string, outcome: string): void {
    this.rollbacks.inc({ kind, outcome });
    this.rollbackOutcomes.inc({ outcome });
  }

  /** Everything in the Prometheus text exposition format. */
  render(): string {
    return (
      [
        ...this.activities.render(),
        ...this.activityDuration.render(),
        ...this.migrations.render(),
        ...this.rollbacks.render(),
        ...this.lockWaitSeconds.render(),
        ...this.lockAttempts.render(),
        ...this.rates.flatMap((r) => r.render()),
      ].join('\n') + '\n'
    );
  }
}

/** The worker process's registry. */
export const pgshiftMetrics = new PgshiftMetrics();

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `metrics` at `http://host:port/metrics` (port 0: a free one). */
export async function serveMetrics(
  port: number,
  host = '0.0.0.0',
  metrics: PgshiftMetrics = pgshiftMetrics,
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end(metrics.render());
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('pgshift metrics are at /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
