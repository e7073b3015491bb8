import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/temporal/free-port';
import { PgshiftMetrics, serveMetrics, type MetricsServer } from '../../src/temporal/metrics';
import {
  closeTestEnv,
  pgshiftProcessArgs,
  startTestWorker,
  uniqueTaskQueue,
} from '../support/temporal';
import { createFixtureActivities } from '../webui/fixtures/activities';
import { approveAllSignal, type WaitingDeployInput } from '../webui/fixtures/workflows';
import { waitUntil } from '../cli/run-cli';

const FIXTURE_WORKFLOWS = join(__dirname, '../webui/fixtures/workflows.ts');
const repoRoot = join(__dirname, '..', '..');

// Before any test worker: capture the SDK's log lines to check their metadata.
const logs: LogEntry[] = [];
Runtime.install({
  logger: new DefaultLogger('INFO', (entry) => logs.push(entry)),
  shutdownSignals: [],
});

/** `name{labels} value` → value, from Prometheus text. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Prometheus registry', () => {
  it('renders counters, histograms and success rates in the text format', () => {
    const metrics = new PgshiftMetrics();
    metrics.migrations.inc({ outcome: 'success' });
    metrics.migrations.inc({ outcome: 'success' });
    metrics.migrations.inc({ outcome: 'failure' });
    metrics.recordRollback('migration', 'success');
    metrics.activityDuration.observe({ activity: 'applyMigrations' }, 0.3);
    const text = metrics.render();
    expect(text).toContain('# TYPE pgshift_migrations_total counter');
    expect(sample(text, 'pgshift_migrations_total{outcome="success"}')).toBe(2);
    expect(sample(text, 'pgshift_migration_success_rate')).toBeCloseTo(2 / 3);
    expect(sample(text, 'pgshift_rollback_success_rate')).toBe(1);
    expect(
      sample(
        text,
        'pgshift_activity_duration_seconds_bucket{activity="applyMigrations",le="0.25"}',
      ),
    ).toBe(0);
    expect(
      sample(text, 'pgshift_activity_duration_seconds_bucket{activity="applyMigrations",le="0.5"}'),
    ).toBe(1);
    expect(
      sample(text, 'pgshift_activity_duration_seconds_count{activity="applyMigrations"}'),
    ).toBe(1);
  });
});

describe('worker metrics and step logs', () => {
  let server: MetricsServer;

  beforeAll(async () => {
    server = await serveMetrics(0, '127.0.0.1');
  });

  afterAll(async () => {
    await server?.close();
    await closeTestEnv();
  });

  it('counts migration runs and failed rollbacks, times each step and logs it with the workflow id', async () => {
    const fixture = createFixtureActivities({ failRevert: true });
    fixture.release();
    const worker = await startTestWorker(fixture.activities, { workflowsPath: FIXTURE_WORKFLOWS });
    const scrape = async () => (await fetch(server.url)).text();
    const before = await scrape();
    try {
      const workflowId = `metrics-${Date.now()}`;
      const handle = await worker.env.client.workflow.start('waitingDeploy', {
        taskQueue: worker.taskQueue,
        workflowId,
        args: [{ environment: 'metrics', outcome: 'rolled-back' } satisfies WaitingDeployInput],
      });
      await handle.signal(approveAllSignal);
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);

      const after = await scrape();
      const delta = (series: string) =>
        (sample(after, series) ?? 0) - (sample(before, series) ?? 0);
      expect(delta('pgshift_migrations_total{outcome="success"}')).toBe(1);
      expect(delta('pgshift_rollbacks_total{kind="migration",outcome="failure"}')).toBe(1);
      expect(delta('pgshift_activities_total{activity="revertMigrations",outcome="failure"}')).toBe(
        1,
      );
      expect(delta('pgshift_activity_duration_seconds_count{activity="applyMigrations"}')).toBe(1);
      expect(sample(after, 'pgshift_rollback_success_rate')).toBe(0);

      const steps = logs.filter((entry) => entry.meta?.workflowId === workflowId);
      expect(steps.map((e) => e.message)).toEqual(
        expect.arrayContaining([
          'step started: applyMigrations',
          'step completed: applyMigrations',
          'step failed: revertMigrations',
        ]),
      );
      const completed = steps.find((e) => e.message === 'step completed: applyMigrations')!;
      expect(completed.meta).toMatchObject({
        workflowId,
        workflowType: 'waitingDeploy',
        activityType: 'applyMigrations',
        step: 'applyMigrations',
        outcome: 'success',
      });
    } finally {
      await worker.stop();
    }
  });

  it('`pgshift worker` serves them on PGSHIFT_APP_METRICS_PORT and logs JSON lines when not on a terminal', async () => {
    const port = await findFreePort();
    const [command, args] = pgshiftProcessArgs(['worker']);
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: {
        ...process.env,
        PGSHIFT_TASK_QUEUE: uniqueTaskQueue('metrics-cli'),
        PGSHIFT_APP_METRICS_PORT: String(port),
        PGSHIFT_METRICS_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await waitUntil(
        () =>
          output.includes(`pgshift metrics at http://127.0.0.1:${port}/metrics`) ||
          child.exitCode !== null,
        'the worker to poll',
      );
      expect(output).toContain(`pgshift metrics at http://127.0.0.1:${port}/metrics`);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(text).toContain('# TYPE pgshift_migrations_total counter');
      expect(text).toContain('# TYPE pgshift_rollbacks_total counter');
      expect(text).toContain('# TYPE pgshift_activity_duration_seconds histogram');
      const jsonLines = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      expect(jsonLines.length).toBeGreaterThan(0);
      expect(jsonLines[0]).toMatchObject({
        level: expect.any(String),
        message: expect.any(String),
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
