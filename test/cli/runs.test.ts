import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/temporal/free-port';
import { inspectRun, listRuns } from '../../src/cli/run-inspect';
import { watchRun } from '../../src/cli/run-watch';
import {
  PgshiftEnvironment,
  PgshiftPhase,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import { progressQuery } from '../../workflows/definitions';
import { closeTestEnv, startTestWorker, type TestWorker } from '../support/temporal';
import { createFixtureActivities } from '../webui/fixtures/activities';
import { approveAllSignal, type WaitingDeployInput } from '../webui/fixtures/workflows';
import { runCli, spawnCli, waitUntil } from './run-cli';

const FIXTURE_WORKFLOWS = join(__dirname, '../webui/fixtures/workflows.ts');

describe('pgshift status, watch and list', () => {
  const environment = `cli-${randomBytes(3).toString('hex')}`;
  const stamp = Date.now();
  const ids = {
    waiting: `deploy-${environment}-waiting-${stamp}`,
    watched: `deploy-${environment}-watched-${stamp}`,
    rolledBack: `deploy-${environment}-rolled-back-${stamp}`,
    terminal: `deploy-${environment}-terminal-${stamp}`,
  };
  let worker: TestWorker;
  let client: Client;
  let release: () => void;

  beforeAll(async () => {
    const fixture = createFixtureActivities();
    release = fixture.release;
    worker = await startTestWorker(fixture.activities, { workflowsPath: FIXTURE_WORKFLOWS });
    client = worker.env.client;
  });

  afterAll(async () => {
    release?.();
    await client?.workflow
      .getHandle(ids.waiting)
      .terminate('test finished')
      .catch(() => undefined);
    await worker?.stop();
    await closeTestEnv();
  });

  async function startDeploy(workflowId: string, outcome: WaitingDeployInput['outcome']) {
    const handle = await client.workflow.start('waitingDeploy', {
      taskQueue: worker.taskQueue,
      workflowId,
      args: [{ environment, outcome } satisfies WaitingDeployInput],
      typedSearchAttributes: [
        { key: PgshiftEnvironment, value: environment },
        { key: PgshiftWorkflowKind, value: 'productionDeploy' },
        { key: PgshiftPhase, value: 'starting' },
      ] as never,
      staticSummary: `Production deploy on ${environment}: 200 migrations`,
    });
    await waitUntil(
      async () => (await handle.query(progressQuery)).phase === 'approvals',
      `${workflowId} to wait for approvals`,
    );
    return handle;
  }

  it('status shows the phase, the steps and the missing approvals of a waiting deploy', async () => {
    await startDeploy(ids.waiting, 'completed');
    const human = await runCli(['status', ids.waiting]);
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(
      `${ids.waiting}  productionDeploy on ${environment}: RUNNING (phase approvals)`,
    );
    expect(human.stdout).toContain('now: Waiting for approvals: missing product-owner, devops');
    expect(human.stdout).toMatch(/✓ validate: completed \(\d+\.\ds\) — 200 migrations valid/);
    expect(human.stdout).toContain('Approvals: 1 of 3, missing product-owner, devops');
    expect(human.stdout).toContain('✓ engineering-lead by alice');
    expect(human.stdout).toContain(
      '✗ refused devops by mallory: mallory does not hold the devops role',
    );
    expect(human.stdout).toContain(`/namespaces/default/workflows/${ids.waiting}/`);

    const json = await runCli(['status', ids.waiting, '--json']);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout);
    expect(view).toMatchObject({
      workflowId: ids.waiting,
      status: 'RUNNING',
      environment,
      kind: 'productionDeploy',
      phase: 'approvals',
      approvals: { missing: ['product-owner', 'devops'] },
    });
    expect(view.steps.map((s: { status: string }) => s.status)).toEqual([
      'completed',
      'running',
      'pending',
    ]);
  });

  it('list finds runs by environment, kind and status through the search attributes', async () => {
    await waitUntil(
      async () =>
        (await listRuns(client, { environment })).some((r) => r.workflowId === ids.waiting),
      'the visibility store to list the waiting deploy',
    );
    const json = await runCli([
      'list',
      '--env',
      environment,
      '--kind',
      'productionDeploy',
      '--status',
      'running',
      '--json',
    ]);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { workflowId: string; status: string }[];
    expect(rows).toContainEqual(
      expect.objectContaining({ workflowId: ids.waiting, status: 'RUNNING', environment }),
    );

    const human = await runCli(['list', '--env', environment]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^WORKFLOW ID\s+KIND\s+ENV\s+STATUS\s+PHASE\s+STARTED\s+DURATION/);
    expect(human.stdout).toMatch(
      new RegExp(`${ids.waiting}\\s+productionDeploy\\s+${environment}\\s+RUNNING\\s+approvals`),
    );

    const completed = await runCli(['list', '--env', environment, '--status', 'completed']);
    expect(completed.stdout).not.toContain(ids.waiting);
    const rollbacks = await runCli(['list', '--env', environment, '--kind', 'emergencyRollback']);
    expect(rollbacks.stdout.trim()).toBe('no pgshift runs match');
  });

  it('list refuses an unknown status or kind with exit 2 before connecting', async () => {
    const status = await runCli(['list', '--status', 'sleeping'], {
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    expect(status.code).toBe(2);
    expect(status.stderr.trim()).toBe(
      'pgshift: --status sleeping is not a run status: use running, completed, failed, canceled, terminated or timed-out',
    );
    const kind = await runCli(['list', '--kind', 'deploy']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('--kind deploy is not a pgshift workflow');
  });

  it('watch follows a run to its end, with the progress of a long activity from its heartbeat', async () => {
    const handle = await startDeploy(ids.watched, 'completed');
    const watch = spawnCli(['watch', ids.watched, '--interval', '200']);
    try {
      await waitUntil(
        () => watch.stdout().includes('▶ approvals: running'),
        'watch to show the approvals step',
      );
      await handle.signal(approveAllSignal);
      const view = await waitUntil(async () => {
        const v = await inspectRun(client, ids.watched);
        return v.pendingActivities[0]?.progress ? v : undefined;
      }, 'the heartbeat of applyMigrations');
      expect(view.pendingActivities[0]).toMatchObject({
        activityType: 'applyMigrations',
        progress: 'apply 007_add_region (7/200)',
      });
      await waitUntil(
        () =>
          watch
            .stdout()
            .includes('Running: applyMigrations apply 007_add_region (7/200) [started]'),
        'watch to show the migration progress',
      );
      release();
      const result = await watch.done;
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/✓ migrate: completed \(\d+\.\ds\) — applied 200 migrations/);
      expect(result.stdout).toContain('Result: COMPLETED');
      // A log, not a flood: each line is printed once.
      expect(result.stdout.match(/^Steps:$/gm)).toHaveLength(1);
      expect(result.stdout.match(/✓ validate: completed/g)).toHaveLength(1);
    } finally {
      watch.kill();
    }
  });

  it('status of a finished run shows its final state, versions and backup from the result', async () => {
    const human = await runCli(['status', ids.watched]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`productionDeploy on ${environment}: COMPLETED → completed`);
    expect(human.stdout).toMatch(/ended .* after \d/);
    expect(human.stdout).toContain('Migrations: version 5 → 205');
    expect(human.stdout).toContain('Backup: backup-fixture-1');
    expect(human.stdout).toContain('Approvals: 3 of 3, complete');
    expect(human.stdout).toContain('Result: COMPLETED');
    const view = JSON.parse((await runCli(['status', ids.watched, '--json'])).stdout);
    expect(view).toMatchObject({
      status: 'COMPLETED',
      finalState: 'completed',
      toVersion: 205,
      backupId: 'backup-fixture-1',
    });
  });

  it('watch exits 1 when the run ends rolled back, and says why', async () => {
    const handle = await startDeploy(ids.rolledBack, 'rolled-back');
    await handle.signal(approveAllSignal);
    const result = await runCli(['watch', ids.rolledBack]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      'Result: ROLLED-BACK — health check api failed 3 times in a row',
    );
    expect(result.stdout).toContain('✗ migrate: failed');
  });

  it('watch redraws the view in place on a terminal', async () => {
    const handle = await startDeploy(ids.terminal, 'completed');
    let screen = '';
    const watching = watchRun(client, ids.terminal, {
      tty: true,
      columns: 100,
      intervalMs: 100,
      write: (text) => (screen += text),
    });
    await waitUntil(() => (screen.match(/\x1b\[\d+F\x1b\[J/g) ?? []).length >= 2, 'two redraws');
    await handle.signal(approveAllSignal);
    const view = await watching;
    expect(view.finalState).toBe('completed');
    const frames = screen.split(/\x1b\[\d+F\x1b\[J/);
    expect(frames.at(-1)).toContain('Result: COMPLETED');
    expect(frames.every((frame) => frame.split('\n').every((line) => line.length <= 99))).toBe(
      true,
    );
  });

  it('an unknown workflow id is one line saying how to list runs (exit 2), stack only with --verbose', async () => {
    const result = await runCli(['status', 'no-such-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'pgshift: no workflow no-such-run in namespace default: list runs with `pgshift list`\n',
    );
    const verbose = await runCli(['watch', 'no-such-run', '--verbose']);
    expect(verbose.code).toBe(2);
    expect(verbose.stderr).toMatch(/\n\s+at /);
    const json = await runCli(['status', 'no-such-run', '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'UsageError', exitCode: 2 });
  });

  it('an unreachable Temporal server is one line saying how to start one (exit 3)', async () => {
    const port = await findFreePort();
    const result = await runCli(['list'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `pgshift: cannot reach the Temporal server at 127.0.0.1:${port}: start one with \`pgshift dev\` or set TEMPORAL_ADDRESS to a running cluster\n`,
    );
  });
});
