import { describe, expect, it } from 'vitest';
import { withClient } from '../../src/migrations/database';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import {
  cancelDeploySignal,
  type ArchivePreservedDatabaseResult,
} from '../../workflows/definitions';
import { databaseExists } from '../support/databases';
import {
  approveAll,
  databaseState,
  loadFixturePlan,
  waitForApprovalGate,
  waitForPhase,
  type DeployStack,
} from './deploy-stack';
import { useDeployStack } from '../support/deploy-fixture';

let stack: DeployStack;
let plan: MigrationPlan;

/** Long enough for the test to inject a fault; a breach ends it early. */
const WATCH = { monitoringWindow: '60s', monitoringInterval: '1s' };

useDeployStack({}, (ready) => ({ stack, plan } = ready));

/** Starts a deploy of `deployPlan` with application 2.0.0 and approves it. */
async function approvedDeploy(deployPlan: MigrationPlan, options = {}) {
  const handle = await stack.startDeploy(deployPlan, { appVersion: '2.0.0', ...WATCH, ...options });
  await waitForApprovalGate(handle);
  await approveAll(handle);
  return handle;
}

describe('production deploy rollback triggers', () => {
  it('rolls back the database and the application when the health check fails during the monitoring window', async () => {
    const handle = await approvedDeploy(plan);
    await waitForPhase(handle, 'monitor');
    expect(await stack.appVersion()).toBe('2.0.0');
    await stack.setFault({ mode: 'fail', version: '2.0.0' });

    const result = await handle.result();
    expect(result.finalState).toBe('rolled-back');
    expect(result.trigger).toBe('critical-functionality-broken');
    expect(result.reason).toMatch(/^critical functionality broken: 3 failed checks in a row/);
    expect(result.compensation).toMatch(
      /database rolled back to version 0 with the rollback files/,
    );
    expect(result.compensation).toMatch(/application rolled back to 1\.0\.0/);
    expect(result.toVersion).toBe(0);
    const steps = Object.fromEntries(result.steps.map((s) => [s.name, s.status]));
    expect(steps).toMatchObject({
      'deploy application': 'compensated',
      migrate: 'compensated',
      verify: 'compensated',
      monitor: 'failed',
      compensate: 'completed',
    });

    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([]);
    expect(db.tables).toEqual([]);
    expect(db.deployments).toEqual([
      expect.objectContaining({ workflow_id: handle.workflowId, status: 'rolled-back' }),
    ]);
    expect(await stack.appVersion()).toBe('1.0.0');
    const texts = stack.notifications.map((n) => JSON.parse(n.body).text as string);
    expect(texts.some((t) => t.includes('Deploy to production rolled-back'))).toBe(true);
  });

  it('rolls back when performance degrades by more than 50% against the baseline', async () => {
    const handle = await approvedDeploy(plan);
    await waitForPhase(handle, 'monitor');
    await stack.setFault({ mode: 'slow', latencyMs: 400, version: '2.0.0' });

    const result = await handle.result();
    expect(result.finalState).toBe('rolled-back');
    expect(result.trigger).toBe('performance-degradation');
    expect(result.reason).toMatch(
      /^performance degradation: health latency \d+ ms vs baseline \d+ ms/,
    );
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([]);
    expect(db.tables).toEqual([]);
    expect(await stack.appVersion()).toBe('1.0.0');
  });

  it('rolls back to the version before the deploy when a migration fails', async () => {
    const failing = await loadFixturePlan('deploy-failing-migration');
    await stack.certify(failing);
    await withClient(stack.productionUrl, (client) =>
      migrateUp(client, failing, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test setup', to: 1 }),
    );
    const handle = await approvedDeploy(failing);

    const result = await handle.result();
    expect(result.finalState).toBe('rolled-back');
    expect(result.trigger).toBe('migration-failure');
    expect(result.reason).toMatch(/^migration failure: .*simulated failure for the deploy tests/);
    expect(result.fromVersion).toBe(1);
    expect(result.toVersion).toBe(1);
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([1]);
    expect(db.tables).toEqual(['events']);
    expect(db.deployments).toEqual([
      expect.objectContaining({ status: 'rolled-back', from_version: 1, to_version: 3 }),
    ]);
    expect(await stack.appVersion()).toBe('1.0.0');
  });

  it('restores its backup when a rollback file fails, after a cancelDeploy signal during monitoring', async () => {
    const broken = await loadFixturePlan('deploy-broken-rollback');
    await stack.certify(broken);
    const handle = await approvedDeploy(broken, { appVersion: undefined });
    await waitForPhase(handle, 'monitor');
    await handle.signal(cancelDeploySignal, { by: 'carol', reason: 'customer reports' });

    const result = await handle.result();
    expect(result.finalState).toBe('rolled-back');
    expect(result.trigger).toBe('cancelled');
    expect(result.reason).toBe('deploy cancelled: cancelled by carol: customer reports');
    expect(result.compensation).toMatch(
      new RegExp(
        `rollback files failed \\(.*recovery_case.*\\); restored backup ${result.backupId}`,
      ),
    );
    const db = await databaseState(stack.productionUrl);
    expect(db.versions).toEqual([]);
    expect(db.tables).toEqual([]);

    // The database the restore replaced was kept until the restored one was verified, then
    // archived (pg_dump) and dropped by a workflow of its own.
    const kept =
      /the replaced database (\S+) was kept until the restore was verified, then archived and dropped by workflow (\S+);/.exec(
        String(result.compensation ?? ''),
      );
    expect(kept, String(result.compensation)).not.toBeNull();
    const [, database, archiveId] = kept!;
    const archive = (await stack.client.workflow
      .getHandle(archiveId)
      .result()) as ArchivePreservedDatabaseResult;
    expect(archive.database).toBe(database);
    expect(archive.databaseDropped).toBe(true);
    expect(archive.backup.sizeBytes).toBeGreaterThan(0);
    expect(await databaseExists(database)).toBe(false);
  });
});
