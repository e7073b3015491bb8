import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';

const fixture = (name: string) => join(__dirname, '../fixtures', name);

/** Runs `pgshift …` in this process and returns what it printed and its exit code. */
async function pgshift(...args: string[]): Promise<{ stdout: string; exitCode: number }> {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = 0;
  try {
    await main(['node', 'pgshift', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return { stdout: chunks.join(''), exitCode: Number(process.exitCode ?? 0) };
}

afterEach(() => {
  process.exitCode = 0;
});

describe('pgshift validate deps', () => {
  it('passes on the guide example', async () => {
    const { stdout, exitCode } = await pgshift(
      'validate',
      'deps',
      '--dir',
      fixture('lint-guide-example'),
    );
    expect(exitCode).toBe(0);
    expect(stdout).toContain('0 errors, 0 warnings');
  });

  it('prints file:line, severity, rule and message for each problem and exits 1', async () => {
    const { stdout, exitCode } = await pgshift(
      'validate',
      'deps',
      '--dir',
      fixture('lint-bad-deps'),
    );
    expect(exitCode).toBe(1);
    expect(stdout).toContain(
      '002_create_open_cases_view.sql:9 error deps/use-before-create references table recovery_cases, which no migration creates before 002 (created in 003)',
    );
    expect(stdout).toContain(
      '003_rollback.sql:10 error deps/rollback-drops-foreign-object drops table customers',
    );
    expect(stdout).toContain('2 errors, 0 warnings');
  });

  it('prints the dependency graph with --json', async () => {
    const { stdout } = await pgshift(
      '--json',
      'validate',
      'deps',
      '--dir',
      fixture('lint-bad-deps'),
    );
    const output = JSON.parse(stdout);
    expect(output.errors).toBe(2);
    expect(
      output.graph.map((m: { version: number; dependsOn: number[] }) => [m.version, m.dependsOn]),
    ).toEqual([
      [1, []],
      [2, [1, 3]],
      [3, [1]],
    ]);
  });

  it('reports malformed files instead of crashing', async () => {
    const { stdout, exitCode } = await pgshift(
      'validate',
      'deps',
      '--dir',
      fixture('lint-malformed'),
    );
    expect(exitCode).toBe(1);
    expect(stdout).toContain('002_create_open_cases_view.sql:1 error missing-rollback');
  });
});

describe('pgshift validate safety', () => {
  it('passes on the guide example and says it is not high risk', async () => {
    const { stdout, exitCode } = await pgshift(
      'validate',
      'safety',
      '--dir',
      fixture('lint-guide-example'),
    );
    expect(exitCode).toBe(0);
    expect(stdout).toContain('no high-risk migrations');
  });

  it('exits 1 on errors, names the high-risk migrations and never prints the secret', async () => {
    const { stdout, exitCode } = await pgshift(
      'validate',
      'safety',
      '--dir',
      fixture('lint-unsafe'),
    );
    expect(exitCode).toBe(1);
    expect(stdout).toContain(
      '002_add_customer_tier.sql:6 error guide/no-secrets connection string with a password',
    );
    expect(stdout).toContain('002_add_customer_tier.sql:7 error guide/not-null-without-default');
    expect(stdout).toContain('high risk (executive approval required for production): 002');
    expect(stdout).not.toContain('Sup3rS3cretValue');
  });

  it('prints findings, suppressed squawk rules and the risk with --json', async () => {
    const { stdout } = await pgshift(
      '--json',
      'validate',
      'safety',
      '--dir',
      fixture('lint-unsafe'),
    );
    const output = JSON.parse(stdout);
    expect(output.risk).toMatchObject({ highRisk: true, versions: [2] });
    expect(output.suppressed['require-lock-timeout']).toBeGreaterThan(0);
    expect(stdout).not.toContain('Sup3rS3cretValue');
  });
});

describe('the shipped migrations', () => {
  const shipped = join(__dirname, '../../migrations');

  it('pass validate deps', async () => {
    const { stdout, exitCode } = await pgshift('validate', 'deps', '--dir', shipped);
    expect(stdout).toMatch(/: 0 errors/);
    expect(exitCode).toBe(0);
  });

  it('pass validate safety', async () => {
    const { stdout, exitCode } = await pgshift('validate', 'safety', '--dir', shipped);
    expect(stdout).toMatch(/: 0 errors/);
    expect(exitCode).toBe(0);
  });
});
