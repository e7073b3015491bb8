import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { BackupError, createBackup, runScopedBackupName } from '../../src/backup';
import { parseConfig } from '../../src/config';
import { createTestDatabase, query } from '../support/databases';

const RUN_1 = {
  workflowId: 'deploy-production-abc',
  runId: '11111111-1111-4111-8111-111111111111',
};
const RUN_2 = {
  workflowId: 'deploy-production-abc',
  runId: '22222222-2222-4222-8222-222222222222',
};

function activitiesFor(dir: string, url: string) {
  return createActivities({
    config: parseConfig(
      { backupsDir: join(dir, 'backups'), reportsDir: join(dir, 'reports') },
      null,
    ),
    env: { PRODUCTION_DATABASE_URL: url },
  });
}

/** Runs an activity as part of one workflow run (what Temporal's activity info says). */
function inRun(run: { workflowId: string; runId: string }) {
  const environment = new MockActivityEnvironment({
    workflowExecution: run,
    heartbeatTimeoutMs: 30_000,
  });
  return {
    run: <I, R>(activity: (input: I) => Promise<R>, input: I): Promise<R> =>
      environment.run(activity, input) as Promise<R>,
  };
}

describe('every run backs up afresh', () => {
  let url: string;
  let dir: string;

  beforeAll(async () => {
    url = await createTestDatabase('per_run');
    await query(url, `CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)`);
    dir = mkdtempSync(join(tmpdir(), 'pgshift-per-run-'));
  });

  it('names a backup after the workflow id and the run id', () => {
    expect(runScopedBackupName(`${RUN_1.workflowId}-backup`, RUN_1)).toBe(
      `deploy-production-abc-backup-${RUN_1.runId}`,
    );
    expect(runScopedBackupName('emergency', RUN_1)).toBe(
      `deploy-production-abc-emergency-${RUN_1.runId}`,
    );
    const long = runScopedBackupName('x'.repeat(300), RUN_1);
    expect(long.length).toBeLessThanOrEqual(200);
    expect(long.endsWith(RUN_1.runId)).toBe(true);
  });

  it('takes a new backup in a second run of the same workflow id, recording each run in its manifest', async () => {
    const activities = activitiesFor(dir, url);
    const input = { environment: 'production', name: `${RUN_1.workflowId}-backup` };
    const first = await inRun(RUN_1).run(activities.backupDatabase, input);
    await query(url, `INSERT INTO items VALUES (2)`);
    const second = await inRun(RUN_2).run(activities.backupDatabase, input);

    expect(first.id).toContain(RUN_1.runId);
    expect(second.id).toContain(RUN_2.runId);
    expect(second.id).not.toBe(first.id);
    expect(second.sha256).not.toBe(first.sha256);
    const manifest = JSON.parse(readFileSync(join(second.path, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ workflowId: RUN_2.workflowId, runId: RUN_2.runId });
    expect(existsSync(first.path)).toBe(true);

    // A retry of the backup step in the same run returns that run's own backup.
    const retried = await inRun(RUN_2).run(activities.backupDatabase, input);
    expect(retried).toEqual(second);
  });

  it('never reuses nor removes a backup another run made under the same name', async () => {
    const backups = join(dir, 'shared');
    const made = await createBackup({ databaseUrl: url, dir: backups, name: 'same', run: RUN_1 });
    await expect(
      createBackup({ databaseUrl: url, dir: backups, name: 'same', run: RUN_2 }),
    ).rejects.toThrow(BackupError);
    await expect(
      createBackup({ databaseUrl: url, dir: backups, name: 'same', run: RUN_2 }),
    ).rejects.toThrow(/made by workflow deploy-production-abc run 11111111/);
    const again = await createBackup({ databaseUrl: url, dir: backups, name: 'same', run: RUN_1 });
    expect(again).toEqual(made);
  });

  it('writes a report per run', async () => {
    const activities = activitiesFor(dir, url);
    const input = {
      workflowId: RUN_1.workflowId,
      kind: 'deploy' as const,
      markdown: '# Deploy',
      data: {},
    };
    const one = await inRun(RUN_1).run(activities.writeReport, input);
    const two = await inRun(RUN_2).run(activities.writeReport, input);
    expect(one.path).toContain(RUN_1.workflowId);
    expect(one.path).toContain(RUN_1.runId);
    expect(two.path).toContain(RUN_2.runId);
    expect(existsSync(one.path) && existsSync(two.path)).toBe(true);
  });
});
