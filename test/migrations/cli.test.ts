import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { findFreePort } from '../../src/temporal/free-port';
import { createTestDatabase, query } from '../support/databases';
import { shippedMigrations, tablePair, writeMigrations } from './fixtures';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the pgshift CLI in this process, capturing its output and exit code. */
async function pgshift(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  const saved = { ...process.env };
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => (
    out.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (
    err.push(String(chunk)),
    true
  )) as typeof process.stderr.write;
  for (const [key, value] of Object.entries(env))
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  process.exitCode = 0;
  try {
    await main(['node', 'pgshift', ...args]);
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.env = saved;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('pgshift validate', () => {
  it('passes on the shipped migrations', async () => {
    const run = await pgshift(['validate', '--dir', shippedMigrations]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('12 migration pairs are well-formed');
  });

  it('exits 1 and names file:line of every problem, also as --json', async () => {
    const dir = writeMigrations([tablePair(1), tablePair(3)]);
    const run = await pgshift(['validate', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('003_create_t3.sql:1: error [version-gap]');
    const json = await pgshift(['--json', 'validate', '--dir', dir]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      errors: 1,
      findings: [{ rule: 'version-gap', file: '003_create_t3.sql', line: 1 }],
    });
  });

  it('has deps and safety subcommands', async () => {
    const run = await pgshift(['validate', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/deps/);
    expect(run.stdout).toMatch(/safety/);
  });
});

describe('pgshift migrate', () => {
  it('exits 2 naming DATABASE_URL when no database is given', async () => {
    const run = await pgshift(['migrate', 'status', '--dir', shippedMigrations], {
      DATABASE_URL: undefined,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL');
  });

  it('exits 3 without the password when the database is unreachable', async () => {
    const port = await findFreePort();
    const run = await pgshift(['migrate', 'status', '--dir', shippedMigrations], {
      DATABASE_URL: `postgresql://app:hunter2-secret@127.0.0.1:${port}/app`,
    });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('cannot reach PostgreSQL');
    expect(run.stderr).not.toContain('hunter2-secret');
  });

  it('runs status, up, validate and down 8 on the shipped set', async () => {
    const env = { DATABASE_URL: await createTestDatabase('cli'), PGSHIFT_USER: 'ops-bot' };
    const dir = ['--dir', shippedMigrations];
    const status = await pgshift(['migrate', 'status', ...dir], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('pending (12)');
    expect(status.stdout).not.toContain(new URL(env.DATABASE_URL).password);

    const dry = await pgshift(['--json', 'migrate', 'up', '--dry-run', ...dir], env);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, toVersion: 12 });

    const up = await pgshift(['migrate', 'up', '--to', '10', ...dir], env);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('ok    010_create_dashboard_views.sql');
    expect(up.stdout).toContain('version 000 → 010');

    const rest = await pgshift(['--json', 'migrate', 'up', ...dir], env);
    expect(JSON.parse(rest.stdout).results.map((r: { version: number }) => r.version)).toEqual([
      11, 12,
    ]);

    const validate = await pgshift(['migrate', 'validate', ...dir], env);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('all 12 applied migrations match their files');

    const down = await pgshift(['migrate', 'down', '8', ...dir], env);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('ok    012_rollback.sql');
    expect(down.stdout).toContain('NOTICE: Rollback 012 completed successfully');
    const ledger = await query<{ applied_by: string }>(
      env.DATABASE_URL,
      'SELECT DISTINCT applied_by FROM pgshift.migrations',
    );
    expect(ledger).toEqual([{ applied_by: 'ops-bot' }]);
  });

  it('prints the result list and exits 1 when a migration fails', async () => {
    const bad = { version: 2, name: 'bad', up: 'SELECT * FROM nowhere;', down: 'SELECT 1;' };
    const dir = writeMigrations([tablePair(1), bad, tablePair(3)]);
    const env = { DATABASE_URL: await createTestDatabase('cli') };
    const run = await pgshift(['migrate', 'up', '--dir', dir], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('ok    001_create_t1.sql');
    expect(run.stdout).toContain('ERROR 002_bad.sql');
    expect(run.stdout).toContain('-     003_create_t3.sql');
    expect(run.stderr).toContain(
      '002_bad.sql:6: relation "nowhere" does not exist (SQLSTATE 42P01)',
    );
    const json = await pgshift(['--json', 'migrate', 'up', '--dir', dir], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      name: 'MigrationExecutionError',
      file: '002_bad.sql',
      line: 6,
      sqlState: '42P01',
      runResult: {
        results: [
          { version: 2, status: 'Error' },
          { version: 3, status: 'NotExecuted' },
        ],
      },
    });
  });

  it('detects drift (exit 1), repairs it with a reason, and baselines', async () => {
    const dir = writeMigrations([1, 2].map(tablePair));
    const env = { DATABASE_URL: await createTestDatabase('cli') };
    await pgshift(['migrate', 'up', '--dir', dir], env);
    const file = join(dir, '001_create_t1.sql');
    writeFileSync(file, readFileSync(file, 'utf8') + '-- reviewed\n');
    const drift = await pgshift(['migrate', 'validate', '--dir', dir], env);
    expect(drift.code).toBe(1);
    expect(drift.stderr).toContain('001_create_t1.sql (version 1) changed after it was applied');
    const noReason = await pgshift(['migrate', 'repair', '--dir', dir], env);
    expect(noReason.code).toBe(2);
    const fixed = await pgshift(
      ['migrate', 'repair', '--reason', 'comment only', '--as', 'alice', '--dir', dir],
      env,
    );
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('001_create_t1.sql (version 1)');
    expect((await pgshift(['migrate', 'validate', '--dir', dir], env)).code).toBe(0);

    const fresh = { DATABASE_URL: await createTestDatabase('cli') };
    const base = await pgshift(['--json', 'migrate', 'baseline', '1', '--dir', dir], fresh);
    expect(JSON.parse(base.stdout).recorded).toHaveLength(1);
  });
});

describe('pgshift migrate up behind a lock held by another session', () => {
  it('says who it waits for, and gives up naming the blocker with exit 1 (not a lost connection)', async () => {
    const url = await createTestDatabase('cli_lockwait');
    await query(url, 'CREATE TABLE customers (id bigint PRIMARY KEY)');
    const dir = writeMigrations([
      {
        version: 1,
        name: 'add_customer_note',
        up: 'ALTER TABLE customers ADD COLUMN note text;',
        down: 'ALTER TABLE customers DROP COLUMN IF EXISTS note;',
      },
    ]);
    const { Client } = await import('pg');
    const billing = new Client({ connectionString: url, application_name: 'billing' });
    await billing.connect();
    try {
      await billing.query('BEGIN; SELECT count(*) FROM customers');
      const pid = (await billing.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const run = await pgshift(['migrate', 'up', '--dir', dir, '--lock-wait', '1500ms'], {
        DATABASE_URL: url,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`001_add_customer_note.sql: waiting`);
      expect(run.stderr).toContain(`pid ${pid} (billing, idle in transaction for`);
      expect(run.stderr).toContain('gave up after waiting');
      expect(run.stderr).toContain('holding AccessShareLock on customers');
      expect(run.stderr).not.toContain('lost or timed out');
    } finally {
      await billing.end();
    }
  });
});
