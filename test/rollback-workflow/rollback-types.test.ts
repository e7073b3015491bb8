import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPgTool, readManifest, verifyBackup } from '../../src/backup';
import type { MigrationPlan } from '../../src/migrations/types';
import { databaseExists, query, testServerUrl, withDatabaseName } from '../support/databases';
import { closeTestEnv } from '../support/temporal';
import {
  createRollbackStack,
  FIXTURES,
  loadPlan,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from './rollback-stack';

let plan: MigrationPlan;
let stack: RollbackStack | undefined;

beforeAll(async () => {
  plan = await loadPlan(SHIPPED_MIGRATIONS);
});
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});
afterAll(async () => {
  await closeTestEnv();
});

/** A production that had a real deploy: migrations 9-12 and app 2.0.0 on top of 8 and 1.0.0. */
async function deployedProduction(options: Parameters<typeof createRollbackStack>[0] = {}) {
  stack = await createRollbackStack(options);
  const deploy = await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
  expect(await stack.ledgerVersion()).toBe(12);
  expect(await stack.appVersion()).toBe('2.0.0');
  return { stack, deploy };
}

describe('migration rollback (--migration-target=N)', () => {
  it('rolls the schema and the ledger back to the target and leaves the application alone', async () => {
    const { stack } = await deployedProduction();
    const result = await stack.run({ mode: 'migration', migrationTarget: 10, plan });

    expect(result.finalState).toBe('completed');
    expect(result).toMatchObject({ type: 'migration', fromVersion: 12, toVersion: 10 });
    expect(await stack.ledgerVersion()).toBe(10);
    expect(await stack.columns('recovery_cases')).not.toContain('priority');
    expect(await stack.tableExists('active_recovery_cases')).toBe(true);
    expect(await stack.columns('customers')).toContain('segment');
    expect(await stack.appVersion()).toBe('2.0.0');
    expect(result.impact).toMatchObject({
      currentVersion: 12,
      target: 10,
      reverted: [
        { version: 12, rollbackFile: '012_rollback.sql' },
        { version: 11, rollbackFile: '011_rollback.sql' },
      ],
    });
    // Named by the incident and by the workflow run that took it (never shared with another run).
    expect(result.emergencyBackupId).toMatch(/-emergency-[0-9a-f-]{36}$/);
    const step = (name: string) => result.steps.find((s) => s.name === name);
    expect(step('revert migrations')).toMatchObject({ status: 'completed' });
    expect(step('verify database')).toMatchObject({
      status: 'completed',
      detail: 'ledger at version 10',
    });
    expect(step('approval')).toMatchObject({ status: 'skipped' });
  });

  it("goes down to the guide's --migration-target=8 and names the dropped columns in the impact", async () => {
    const { stack } = await deployedProduction();
    const result = await stack.run({ mode: 'migration', migrationTarget: 8, plan });

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.columns('customers')).not.toContain('segment');
    expect(await stack.tableExists('active_recovery_cases')).toBe(false);
    const lost = (result.impact as { dataLoss: { table: string; column?: string; rows: number }[] })
      .dataLoss;
    expect(lost).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: 'customers', column: 'segment', rows: 0 }),
        expect.objectContaining({ table: 'recovery_cases', column: 'priority', rows: 0 }),
      ]),
    );
  });
});

describe('application rollback (--app-rollback)', () => {
  it('brings the previous application version back and leaves the database alone', async () => {
    const { stack } = await deployedProduction();
    const result = await stack.run({ mode: 'application' });

    expect(result.finalState).toBe('completed');
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(result.app).toEqual({ before: '2.0.0', after: '1.0.0', expected: '1.0.0' });
    expect(await stack.ledgerVersion()).toBe(12);
    expect(await stack.columns('recovery_cases')).toContain('priority');
    expect(result.steps.map((s) => s.name)).not.toContain('emergency backup');
  });
});

describe('full emergency rollback (--full-emergency)', () => {
  it('brings the application and the database back to the state before the last deploy', async () => {
    const { stack, deploy } = await deployedProduction();
    const result = await stack.run({ mode: 'full-emergency', plan });

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(await stack.columns('customers')).not.toContain('region');
    expect(result).toMatchObject({ fromVersion: 12, toVersion: 8 });
    expect(result.method).toBe('rollback files 012, 011, 010, 009');
    expect(result.verification).toMatchObject({ ok: true });
    expect(result.watch).toMatchObject({ breaches: [] });
    expect((result.watch as { samples: number }).samples).toBeGreaterThanOrEqual(1);

    const records = await stack.deployments();
    expect(records.find((r) => r.workflow_id === deploy.workflowId)).toMatchObject({
      status: 'rolled-back',
    });
    expect(records.find((r) => r.kind === 'rollback')).toMatchObject({
      status: 'completed',
      from_version: 12,
      to_version: 8,
      app_version_before: '2.0.0',
      app_version_after: '1.0.0',
    });
  });

  it('writes an incident document that names every step, the timing against the guide and the post-mortem', async () => {
    const { stack } = await deployedProduction();
    const result = await stack.run({
      mode: 'full-emergency',
      plan,
      description: 'checkout returns 500 after release 2.0.0',
    });

    expect(result.incidentPath).toBeDefined();
    expect(existsSync(result.incidentPath!)).toBe(true);
    const markdown = readFileSync(result.incidentPath!, 'utf8');
    for (const step of result.steps) expect(markdown).toContain(`| ${step.name} |`);
    for (const name of [
      'decide',
      'assess impact',
      'emergency backup',
      'notify stakeholders',
      'revert migrations',
      'verify database',
      'roll back application',
      'verify application',
      'verify system',
      'watch thresholds',
      'record',
    ])
      expect(markdown).toContain(`| ${name} | completed |`);
    expect(markdown).toMatch(/guide's target for Full Emergency: 5-10 minutes \(within target\)/);
    expect(markdown).toContain('checkout returns 500 after release 2.0.0');
    expect(markdown).toContain('## Timeline');
    expect(markdown).toContain('012 add_recovery_case_priority — 012_rollback.sql');
    expect(markdown).toContain('Post-mortem due');
    expect(result.incidentMarkdown).toContain('| incident document | completed |');
    expect(result.incidentMarkdown).toContain('| post-mortem | completed |');

    const due = Date.parse(result.postMortemDue as string);
    expect(due - Date.now()).toBeGreaterThan(71 * 3_600_000);
    const titles = stack.notificationTitles();
    expect(titles.some((t) => /Emergency rollback starting/.test(t))).toBe(true);
    expect(titles.some((t) => /Post-mortem due/.test(t))).toBe(true);
  });

  it('restores the deploy backup when a rollback file fails', async () => {
    stack = await createRollbackStack({ production: false });
    const broken = await loadPlan(join(FIXTURES, 'rollback-error'));
    await stack.deploy({ plan: broken, from: 1, to: 3, appVersion: '2.0.0' });
    expect(await stack.columns('events')).toEqual(['id', 'payload', 'source', 'received_at']);

    const result = await stack.run({ mode: 'full-emergency', plan: broken });

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(1);
    expect(await stack.columns('events')).toEqual(['id', 'payload']);
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(result.method).toMatch(/^rollback files failed .*sourc.*; restored backup deploy-/);
    expect(result.restoredBackupId).toMatch(/^deploy-.*-before$/);
    const step = (name: string) => result.steps.find((s) => s.name === name);
    expect(step('revert migrations')).toMatchObject({ status: 'failed' });
    expect(step('restore backup')).toMatchObject({ status: 'completed' });
    expect(step('verify database')).toMatchObject({ status: 'completed' });
    expect(result.incidentMarkdown).toContain('| restore backup | completed |');
  });

  it('restores the deploy backup when no rollback files are given', async () => {
    const { stack } = await deployedProduction({ production: false });
    const result = await stack.run({ mode: 'full-emergency' });

    expect(result.finalState).toBe('completed');
    expect(result.method).toMatch(/^restored backup deploy-/);
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.appVersion()).toBe('1.0.0');
  });

  it('keeps the replaced database as the emergency backup and archives it after the rollback', async () => {
    const { stack } = await deployedProduction();
    const result = await stack.run({
      mode: 'full-emergency',
      breakGlass: { reason: 'checkout down, rollback files not at hand' },
    });

    expect(result.finalState).toBe('completed');
    expect(result.method).toMatch(/^restored backup deploy-/);
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.columns('customers')).not.toContain('segment');
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(result.preservedDatabase).toMatch(/_pre_[0-9a-f]{10}$/);
    expect(result.archiveWorkflowId).toBe(`${result.incidentId}-archive`);
    expect(result.emergencyBackupId).toBe(`${result.incidentId}-emergency`);

    const step = (name: string) => result.steps.find((s) => s.name === name)!;
    expect(step('emergency backup')).toMatchObject({ status: 'completed' });
    expect(step('emergency backup').detail).toContain(
      `kept as database ${result.preservedDatabase} at the swap`,
    );
    expect(step('restore backup')).toMatchObject({ status: 'completed' });
    expect(step('archive emergency backup')).toMatchObject({ status: 'completed' });
    expect(step('archive emergency backup').detail).toContain(
      `workflow ${result.archiveWorkflowId} archives database ${result.preservedDatabase}`,
    );
    expect(result.incidentMarkdown).toContain('| emergency backup | completed |');
    expect(result.incidentMarkdown).toContain(
      `- Emergency backup: the replaced database is kept as \`${result.preservedDatabase}\``,
    );
    expect(result.incidentMarkdown).toMatch(/\| backup deploy-.* restored and swapped in \|/);

    // The archive: a valid backup of the state before the rollback; the kept database is dropped.
    const archive = await stack.archive(result);
    expect(archive).toMatchObject({
      database: result.preservedDatabase,
      databaseDropped: true,
      backup: { id: result.emergencyBackupId, currentVersion: 12 },
    });
    const emergencyDir = join(
      stack.config.backupsDir,
      stack.environment,
      result.emergencyBackupId as string,
    );
    await expect(verifyBackup(emergencyDir)).resolves.toMatchObject({
      name: result.emergencyBackupId,
    });
    expect(await readManifest(emergencyDir)).toMatchObject({
      migrationState: { currentVersion: 12 },
    });
    expect(await databaseExists(result.preservedDatabase!)).toBe(false);
    expect(stack.notificationTitles()).toContain(
      `:information_source: Emergency backup of ${stack.environment} archived: ${result.emergencyBackupId}`,
    );
  });

  it('keeps the replaced database, with the writes made before the rollback, when the config says so', async () => {
    const { stack } = await deployedProduction({ emergency: { keepPreservedDatabase: true } });
    await query(
      stack.databaseUrl,
      `CREATE TABLE incident_notes (note text); INSERT INTO incident_notes VALUES ('written during the incident')`,
    );
    const result = await stack.run({
      mode: 'full-emergency',
      breakGlass: { reason: 'checkout down' },
    });

    expect(result.finalState).toBe('completed');
    expect(await stack.tableExists('incident_notes')).toBe(false);
    const archive = await stack.archive(result);
    expect(archive).toMatchObject({ databaseDropped: false, backup: { currentVersion: 12 } });
    const kept = withDatabaseName(stack.databaseUrl, result.preservedDatabase!);
    try {
      expect(await query(kept, 'SELECT note FROM incident_notes')).toEqual([
        { note: 'written during the incident' },
      ]);
      expect(await query(kept, 'SELECT max(version)::int AS v FROM pgshift.migrations')).toEqual([
        { v: 12 },
      ]);
      expect(result.incidentMarkdown).toContain(
        'and keeps the database (emergency.keepPreservedDatabase)',
      );
    } finally {
      await query(
        testServerUrl(),
        `DROP DATABASE IF EXISTS "${result.preservedDatabase}" WITH (FORCE)`,
      );
    }
  });
});

describe('archive of the kept database', () => {
  it('tells stakeholders and keeps the replaced database when the archive fails', async () => {
    // A worker that has pg_restore but no pg_dump: the restore works, the archive cannot.
    const binDir = mkdtempSync(join(tmpdir(), 'pgshift-restore-only-'));
    const pgRestore = await findPgTool('pg_restore', 15);
    symlinkSync(pgRestore.path, join(binDir, 'pg_restore'));
    const { stack } = await deployedProduction({ pgBinDir: binDir });
    const result = await stack.run({ mode: 'full-emergency', breakGlass: { reason: 'down' } });

    expect(result.finalState).toBe('completed');
    expect(await stack.ledgerVersion()).toBe(8);
    await expect(stack.archive(result)).rejects.toThrow();
    expect(await databaseExists(result.preservedDatabase!)).toBe(true);
    expect(stack.notificationTitles()).toContain(
      `:rotating_light: Emergency backup of ${stack.environment} NOT archived: ${result.preservedDatabase} kept`,
    );
    await query(testServerUrl(), `DROP DATABASE "${result.preservedDatabase}" WITH (FORCE)`);
    rmSync(binDir, { recursive: true, force: true });
  });
});

describe('status only (--status-only)', () => {
  it('reports the migration state, application version, backups and deploys and changes nothing', async () => {
    const { stack, deploy } = await deployedProduction();
    const before = await stack.deployments();
    const result = await stack.run({ mode: 'status-only', plan });

    expect(result).toMatchObject({ finalState: 'completed', type: 'status-only' });
    expect(result.status).toMatchObject({
      migration: { currentVersion: 12, appliedCount: 12, pending: [] },
      appVersion: '2.0.0',
      backups: [expect.objectContaining({ id: deploy.backupId, currentVersion: 8 })],
      deployments: [
        expect.objectContaining({ workflowId: deploy.workflowId, status: 'completed' }),
      ],
      lastSuccessfulDeploy: expect.objectContaining({ workflowId: deploy.workflowId }),
    });
    expect(await stack.ledgerVersion()).toBe(12);
    expect(await stack.appVersion()).toBe('2.0.0');
    expect(await stack.deployments()).toEqual(before);
    expect(stack.notifications).toEqual([]);
    expect(result.incidentPath).toBeUndefined();
  });
});
