import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildRollbackInput, type RollbackOptions } from '../../src/cli/actions/rollback';
import { UsageError } from '../../src/errors';
import type { MigrationPlan } from '../../src/migrations/types';
import type { EmergencyRollbackResult } from '../../workflows/definitions';
import { query } from '../support/databases';
import { closeTestEnv, pgshiftProcessArgs } from '../support/temporal';
import {
  createRollbackStack,
  loadPlan,
  progressOf,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from './rollback-stack';

const SCRIPT = resolve(__dirname, '../../scripts/emergency-rollback.sh');
const CLI_FROM_SOURCES = `${process.execPath} --import tsx ${join(__dirname, '../support/pgshift-cli.ts')}`;

function runScript(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(
      'bash',
      [SCRIPT, ...args],
      { env: { ...env, PGSHIFT_CLI: CLI_FROM_SOURCES }, timeout: 120_000 },
      (error, stdout, stderr) =>
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

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

const base: RollbackOptions = { env: 'production', dir: 'migrations' };

describe('pgshift rollback flags', () => {
  it("turns the guide's flags into the workflow input", () => {
    expect(buildRollbackInput({ ...base, migrationTarget: '8' }, 'erin')).toMatchObject({
      environment: 'production',
      initiator: 'erin',
      mode: 'migration',
      migrationTarget: 8,
    });
    expect(buildRollbackInput({ ...base, appRollback: true }, 'erin').mode).toBe('application');
    expect(buildRollbackInput({ ...base, fullEmergency: true }, 'erin').mode).toBe(
      'full-emergency',
    );
    expect(buildRollbackInput({ ...base, statusOnly: true }, 'erin').mode).toBe('status-only');
    expect(
      buildRollbackInput({ ...base, issue: 'feature-failure', severity: 'P2' }, 'erin'),
    ).toMatchObject({ issue: 'feature-failure', severity: 'P2' });
    expect(
      buildRollbackInput(
        { ...base, fullEmergency: true, breakGlass: true, reason: ' checkout down ' },
        'erin',
      ).breakGlass,
    ).toEqual({ reason: 'checkout down' });
  });

  it('lists every usage problem at once', () => {
    const attempt = () =>
      buildRollbackInput(
        {
          ...base,
          appRollback: true,
          fullEmergency: true,
          severity: 'P9',
          breakGlass: true,
        },
        'erin',
      );
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(
      'choose one of --app-rollback, --full-emergency; --severity P9 is unknown: use P0, P1, P2, P3; --break-glass needs --reason "<why the approval cannot wait>"',
    );
    expect(() => buildRollbackInput(base, 'erin')).toThrow(/say what to do: --migration-target=N/);
    expect(() => buildRollbackInput({ ...base, migrationTarget: 'eight' }, 'erin')).toThrow(
      '--migration-target=eight is not a migration number (e.g. --migration-target=8)',
    );
  });
});

describe('scripts/emergency-rollback.sh', () => {
  it('refuses flags the guide does not have, with exit code 2', async () => {
    const unknown = await runScript(['--rollback-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown option '--rollback-everything'");
    const two = await runScript(['--app-rollback', '--full-emergency']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/usage: .*--full-emergency \| --migration-target=N/);
    const target = await runScript(['--migration-target=latest']);
    expect(target.code).toBe(2);
  });

  it("runs the guide's --migration-target=10 to the end and exits 0", async () => {
    stack = await createRollbackStack();
    await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
    const run = await runScript(
      ['--migration-target=10', '--env', stack.environment],
      stack.cliEnv,
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Started emergency rollback pgshift-lock-${stack.environment}`);
    expect(run.stdout).toMatch(/✓ revert migrations: completed .*reverted 012, 011; now at 10/);
    expect(run.stdout).toMatch(/Emergency rollback COMPLETED on .* \(migration\)/);
    expect(run.stdout).toMatch(/Database: version 12 → 10/);
    expect(run.stdout).toMatch(/Incident document: .*incident-rollback-.*\.md/);
    expect(await stack.ledgerVersion()).toBe(10);
    expect(await stack.appVersion()).toBe('2.0.0');
  });

  it('--status-only prints the state, the backups, the deploys and the running workflows', async () => {
    stack = await createRollbackStack();
    const deploy = await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
    const run = await runScript(['--status-only', `--env=${stack.environment}`], stack.cliEnv);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Status of ${stack.environment}`);
    expect(run.stdout).toContain('Migration version: 12 (12 applied, 0 pending)');
    expect(run.stdout).toContain('Application version: 2.0.0');
    expect(run.stdout).toContain(deploy.backupId);
    expect(run.stdout).toContain(
      `deploy ${deploy.workflowId}: completed, database 8 → 12, application 1.0.0 → 2.0.0`,
    );
    expect(run.stdout).toMatch(/Running pgshift workflows:\n {4}none/);
    expect(await stack.ledgerVersion()).toBe(12);
  });
});

describe('pgshift rollback approve', () => {
  it('approves the waiting data-losing rollback of an environment through the same policy', async () => {
    stack = await createRollbackStack();
    await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
    await query(
      stack.databaseUrl,
      `INSERT INTO audit_log (table_name, row_id, action) VALUES ('customers', gen_random_uuid(), 'INSERT')`,
    );
    const handle = await stack.start({ mode: 'migration', migrationTarget: 7, plan });
    await expect
      .poll(
        async () => (await progressOf(handle))?.steps.find((s) => s.name === 'approval')?.status,
        { timeout: 30_000, interval: 200 },
      )
      .toBe('running');

    const refused = await runCli(
      ['rollback', 'approve', '--env', stack.environment, '--as', 'erin'],
      stack.cliEnv,
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      'Refused: erin is not on the roster of "emergency-approver" (alice, carol)',
    );

    const approved = await runCli(
      ['rollback', 'approve', '--env', stack.environment, '--as', 'alice', '--comment', 'go'],
      stack.cliEnv,
    );
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(
      `Approved the emergency rollback of ${stack.environment} as alice`,
    );
    const result = (await handle.result()) as EmergencyRollbackResult;
    expect(result.finalState).toBe('completed');
    expect(result.incidentMarkdown).toMatch(
      /⚠️ audit_log \(table dropped by 008_rollback\.sql:\d+; 1 row\)/,
    );
    expect(await stack.tableExists('audit_log')).toBe(false);
  });
});

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, argv] = pgshiftProcessArgs(args);
  return new Promise((done) =>
    execFile(command, argv, { env, timeout: 60_000 }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}
