import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testServerUrl } from '../support/databases';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

/** Runs `pgshift …` from the sources (tsx), returning exit code and output. */
async function pgshift(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `require('./src/cli/main').main(['node', 'pgshift', ...process.argv.slice(1)])`;
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', '-e', script, '--', ...args],
      { cwd: root, env: { ...process.env, ...env } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('pgshift test rollback', () => {
  it('prints one line per migration and exits 0 when every rollback restores the schema', async () => {
    const result = await pgshift(
      ['test', 'rollback', '--all', '--dir', 'test/fixtures/rollback-good'],
      {
        TEST_DATABASE_URL: testServerUrl(),
      },
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines.slice(0, 5).map((l) => l.replace(/\(\d+ ms\)/, '(… ms)'))).toEqual([
      '✓ 001_create_recovery_cases (… ms)',
      '✓ 002_create_customers (… ms)',
      '✓ 003_limit_customer_region (… ms)',
      '✓ 004_index_case_status (… ms)',
      '✓ 005_touch_recovery_cases (… ms)',
    ]);
    expect(lines[5]).toMatch(/^ok: 5 rollbacks tested: 5 passed, 0 failed/);
  });

  it('prints every difference and exits 1 when a rollback leaves residue', async () => {
    const result = await pgshift(
      ['test', 'rollback', '--migration=2', '--dir', 'test/fixtures/rollback-broken'],
      { TEST_DATABASE_URL: testServerUrl() },
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^✗ 002_index_case_status \(\d+ ms\)\n    002: index idx_cases_status still exists\n/,
    );
    expect(result.stdout).toContain(
      '    → 002_rollback.sql did not restore the schema before 002_index_case_status.sql',
    );
    expect(result.stdout).toContain('FAILED: 1 rollback tested: 0 passed, 1 failed');
  });

  it('prints the report as JSON with --json', async () => {
    const result = await pgshift(
      ['--json', 'test', 'rollback', '--dry-run', '--dir', 'test/fixtures/rollback-broken'],
      { TEST_DATABASE_URL: testServerUrl() },
    );
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ mode: 'dry-run', passed: false, unchanged: true });
    expect(report.migrations[2].differences).toEqual([
      "003: default of cases.status was 'open', now none",
    ]);
  });

  it('takes the server from --test-database-url', async () => {
    const result = await pgshift(
      [
        'test',
        'rollback',
        '--migration=1',
        '--dir',
        'test/fixtures/rollback-good',
        '--test-database-url',
        testServerUrl(),
      ],
      { TEST_DATABASE_URL: undefined },
    );
    expect(result.code).toBe(0);
  });

  it('exits 2 naming TEST_DATABASE_URL when no test server is given', async () => {
    const result = await pgshift(
      ['test', 'rollback', '--all', '--dir', 'test/fixtures/rollback-good'],
      { TEST_DATABASE_URL: undefined, DATABASE_URL: testServerUrl() },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TEST_DATABASE_URL');
  });

  it('exits 2 when no mode or several modes are chosen', async () => {
    const none = await pgshift(['test', 'rollback', '--dir', 'test/fixtures/rollback-good'], {
      TEST_DATABASE_URL: testServerUrl(),
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('choose exactly one of --migration=N');
    const both = await pgshift(['test', 'rollback', '--all', '--dry-run'], {
      TEST_DATABASE_URL: testServerUrl(),
    });
    expect(both.code).toBe(2);
  });

  it('exits 3 without the password when the test server is unreachable', async () => {
    const result = await pgshift(
      ['test', 'rollback', '--all', '--dir', 'test/fixtures/rollback-good'],
      { TEST_DATABASE_URL: 'postgresql://postgres:s3cret-pw@127.0.0.1:1/postgres' },
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('cannot reach PostgreSQL');
    expect(result.stderr).not.toContain('s3cret-pw');
  });
});
