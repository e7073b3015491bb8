import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/temporal/free-port';
import { createTestDatabase, query } from '../support/databases';
import { pgshiftProcessArgs } from '../support/temporal';
import { runCli, type CliRun } from './run-cli';
import { spawn } from 'node:child_process';

const repoRoot = join(__dirname, '..', '..');

/** Runs scripts/verify-production-deployment.sh with the CLI from the sources. */
function runScript(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const [node, cli] = pgshiftProcessArgs([]);
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/verify-production-deployment.sh', ...args], {
      cwd: repoRoot,
      env: { ...process.env, PGSHIFT_BIN: [node, ...cli].join(' '), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pgshift verify (scripts/verify-production-deployment.sh)', () => {
  let databaseUrl: string;
  let app: Server;
  let appUrl: string;
  let dir: string;

  function writeConfig(name: string, production: object): string {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify({ environments: { production } }));
    return file;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgshift-verify-'));
    databaseUrl = await createTestDatabase('verify');
    await query(
      databaseUrl,
      `CREATE TABLE events (id int); INSERT INTO events VALUES (1), (2), (3);
       CREATE TABLE recovery_cases (id int); INSERT INTO recovery_cases VALUES (1);`,
    );
    app = createServer((request, response) => {
      response.writeHead(request.url === '/api/health' ? 200 : 503);
      response.end('{}');
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => app?.close(resolve));
  });

  const healthy = () => ({
    criticalTables: ['events', 'recovery_cases'],
    checks: [{ name: 'three events', sql: 'SELECT count(*) FROM events', expect: { equals: 3 } }],
    healthChecks: [{ name: 'api', url: `${appUrl}/api/health` }],
  });

  it('passes every check of a healthy environment, each with its latency (exit 0)', async () => {
    const config = writeConfig('healthy.json', healthy());
    const result = await runScript(['--config', config], { PRODUCTION_DATABASE_URL: databaseUrl });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Post-deployment verification of production:');
    expect(result.stdout).toMatch(/✓ database answers SELECT 1 \(\d+ ms\) — PostgreSQL \d+/);
    expect(result.stdout).toMatch(/✓ critical tables \(\d+ ms\) — events: 3, recovery_cases: 1/);
    expect(result.stdout).toMatch(/✓ three events \(\d+ ms\) — 1 rows/);
    expect(result.stdout).toMatch(
      /✓ api \(\d+ ms\) — HTTP 200 from http:\/\/127\.0\.0\.1:\d+\/api\/health/,
    );
    expect(result.stdout).toContain('all 4 checks passed');
  });

  it('reports a failing health check and a missing critical table with ✗ and exits 1', async () => {
    const config = writeConfig('broken.json', {
      ...healthy(),
      criticalTables: ['events', 'payments'],
      healthChecks: [{ name: 'api-db', url: `${appUrl}/api/health/db` }],
    });
    const result = await runCli(['verify', '--env', 'production', '--config', config], {
      PRODUCTION_DATABASE_URL: databaseUrl,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ critical tables \(\d+ ms\) — payments is missing/);
    expect(result.stdout).toMatch(/✗ api-db \(\d+ ms\) — HTTP 503, expected 200/);
    expect(result.stdout).toContain('2 of 4 checks FAILED');

    const json = await runCli(['verify', '--env', 'production', '--config', config, '--json'], {
      PRODUCTION_DATABASE_URL: databaseUrl,
    });
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.map((c: { kind: string; ok: boolean }) => [c.kind, c.ok])).toEqual([
      ['database', true],
      ['row-counts', false],
      ['sql', true],
      ['http', false],
    ]);
  });

  it('fails when a critical row count dropped below the baseline taken before the deploy', async () => {
    const config = writeConfig('baseline.json', { criticalTables: ['events', 'recovery_cases'] });
    const env = { PRODUCTION_DATABASE_URL: databaseUrl };
    const before = await runCli(
      ['verify', '--env', 'production', '--config', config, '--json'],
      env,
    );
    expect(before.code).toBe(0);
    const baseline = join(dir, 'before.json');
    writeFileSync(baseline, before.stdout);
    await query(databaseUrl, 'DELETE FROM events WHERE id = 3');
    try {
      const after = await runCli(
        ['verify', '--env', 'production', '--config', config, '--baseline', baseline],
        env,
      );
      expect(after.code).toBe(1);
      expect(after.stdout).toContain('✗ critical tables');
      expect(after.stdout).toContain('events dropped from 3 to 2 rows');
    } finally {
      await query(databaseUrl, 'INSERT INTO events VALUES (3)');
    }
  });

  it('reports an unreachable database without its password (exit 1)', async () => {
    const config = writeConfig('unreachable.json', healthy());
    const port = await findFreePort();
    const result = await runCli(['verify', '--env', 'production', '--config', config], {
      PRODUCTION_DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${port}/app`,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ database answers SELECT 1');
    expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
  });

  it('says which variable to set when the database URL is missing (exit 2)', async () => {
    const config = writeConfig('no-url.json', healthy());
    const result = await runCli(['verify', '--env', 'production', '--config', config], {
      PRODUCTION_DATABASE_URL: '',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'pgshift: PRODUCTION_DATABASE_URL is not set: export it or set environments.production.databaseUrlEnv\n',
    );
  });
});
