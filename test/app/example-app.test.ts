import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import { findFreePort } from '../../src/temporal/free-port';
import { createTestDatabase, query } from '../support/databases';
import { requestJson } from './helpers';

const running: RunningExampleApp[] = [];
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('example_app');
  await query(databaseUrl, 'CREATE TABLE events (id serial PRIMARY KEY, kind text)');
  await query(databaseUrl, 'CREATE TABLE recovery_cases (id serial PRIMARY KEY, event_id int)');
  await query(
    databaseUrl,
    "INSERT INTO events (kind) VALUES ('payment_failed'), ('payment_failed'), ('renewed')",
  );
  await query(databaseUrl, 'INSERT INTO recovery_cases (event_id) VALUES (1)');
});

afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

function stateFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'pgshift-app-')), 'state.json');
}

async function start(
  options: Partial<Parameters<typeof startExampleApp>[0]> = {},
): Promise<RunningExampleApp> {
  const app = await startExampleApp({ stateFile: stateFile(), databaseUrl, ...options });
  running.push(app);
  return app;
}

describe('example app: health endpoints', () => {
  it('answers /api/health with its version', async () => {
    const app = await start({ initialVersion: '2.4.0' });
    expect(await requestJson(`${app.url}/api/health`)).toEqual({
      status: 200,
      json: { status: 'ok', version: '2.4.0' },
    });
    expect((await requestJson(`${app.url}/api/version`)).json).toEqual({
      version: '2.4.0',
      previous: null,
    });
  });

  it('checks the database and counts events and recovery cases', async () => {
    const app = await start();
    const { status, json } = await requestJson(`${app.url}/api/health/db`);
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'ok', counts: { events: 3, recovery_cases: 1 } });
  });

  it('reports a missing table as a null count', async () => {
    const empty = await createTestDatabase('example_app_empty');
    const app = await start({ databaseUrl: empty });
    expect((await requestJson(`${app.url}/api/health/db`)).json).toMatchObject({
      status: 'ok',
      counts: { events: null, recovery_cases: null },
    });
  });

  it('answers 503 when the database cannot be reached, without the password', async () => {
    const port = await findFreePort();
    const app = await start({
      databaseUrl: `postgresql://app:s3cret-pw@127.0.0.1:${port}/nowhere`,
    });
    const { status, json } = await requestJson(`${app.url}/api/health/db`);
    expect(status).toBe(503);
    expect(json.status).toBe('unavailable');
    expect(JSON.stringify(json)).not.toContain('s3cret-pw');
  });

  it('answers 503 when no database is configured', async () => {
    const app = await start({ databaseUrl: undefined });
    expect(await requestJson(`${app.url}/api/health/db`)).toMatchObject({
      status: 503,
      json: { error: 'DATABASE_URL is not set' },
    });
  });
});

describe('example app: faults and metrics', () => {
  it('fails every request in fail mode and recovers with mode none', async () => {
    const app = await start();
    expect((await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'fail' })).status).toBe(
      200,
    );
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(500);
    expect((await requestJson(`${app.url}/api/health/db`)).status).toBe(500);
    await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'none' });
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(200);
  });

  it('fails the given share of requests and reports the error rate', async () => {
    const app = await start();
    await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'fail', errorRatePercent: 25 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await requestJson(`${app.url}/api/health`)).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    const metrics = (await requestJson(`${app.url}/api/metrics`)).json as {
      requests: number;
      errors: number;
      window: { errorRatePercent: number };
    };
    expect(metrics).toMatchObject({ requests: 20, errors: 5, window: { errorRatePercent: 25 } });
  });

  it('slows responses down in slow mode and shows it in the latency percentiles', async () => {
    const app = await start();
    await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'slow', latencyMs: 150 });
    const started = performance.now();
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    const metrics = (await requestJson(`${app.url}/api/metrics`)).json as {
      latencyMs: { p50: number; p99: number };
    };
    expect(metrics.latencyMs.p50).toBeGreaterThanOrEqual(145);
    await requestJson(`${app.url}/admin/metrics/reset`, 'POST');
    expect((await requestJson(`${app.url}/api/metrics`)).json).toMatchObject({ requests: 0 });
  });

  it('applies a fault bound to a version only while that version is deployed', async () => {
    const app = await start();
    await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'fail', version: '2.0.0' });
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(200);
    await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '2.0.0' });
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(500);
    await requestJson(`${app.url}/admin/rollback`, 'POST');
    expect((await requestJson(`${app.url}/api/health`)).status).toBe(200);
  });

  it('refuses bad admin requests', async () => {
    const app = await start();
    expect((await requestJson(`${app.url}/admin/fault`, 'POST', { mode: 'explode' })).status).toBe(
      400,
    );
    expect((await requestJson(`${app.url}/admin/deploy`, 'POST', { version: 'a b' })).status).toBe(
      400,
    );
    expect((await requestJson(`${app.url}/admin/deploy`)).status).toBe(405);
    expect((await requestJson(`${app.url}/admin/rollback`, 'POST')).status).toBe(409);
  });

  it('guards admin endpoints with the admin token when one is set', async () => {
    const app = await start({ adminToken: 'tok-123456' });
    expect(
      (await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '2.0.0' })).status,
    ).toBe(401);
    const response = await fetch(`${app.url}/admin/deploy`, {
      method: 'POST',
      headers: { authorization: 'Bearer tok-123456', 'content-type': 'application/json' },
      body: JSON.stringify({ version: '2.0.0' }),
    });
    expect(response.status).toBe(200);
  });
});

describe('example app: deploy and rollback', () => {
  it('keeps the deployed versions across restarts and rolls back one version at a time', async () => {
    const file = stateFile();
    let app = await start({ stateFile: file });
    await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '1.1.0' });
    expect(
      (await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '1.2.0' })).json,
    ).toMatchObject({
      version: '1.2.0',
      previous: '1.1.0',
    });
    await running.pop()!.stop();

    app = await start({ stateFile: file });
    expect((await requestJson(`${app.url}/api/version`)).json).toEqual({
      version: '1.2.0',
      previous: '1.1.0',
    });
    expect((await requestJson(`${app.url}/admin/rollback`, 'POST')).json).toMatchObject({
      from: '1.2.0',
      version: '1.1.0',
    });
    await running.pop()!.stop();

    app = await start({ stateFile: file });
    expect((await requestJson(`${app.url}/api/health`)).json).toMatchObject({ version: '1.1.0' });
    expect((await requestJson(`${app.url}/admin/rollback`, 'POST')).json).toMatchObject({
      version: '1.0.0',
    });
    expect((await requestJson(`${app.url}/admin/rollback`, 'POST')).status).toBe(409);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { history: { action: string }[] };
    expect(saved.history.map((h) => h.action)).toEqual([
      'initial',
      'deploy',
      'deploy',
      'rollback',
      'rollback',
    ]);
  });

  it('rolls back to a given version, and a repeated rollback to it changes nothing', async () => {
    const app = await start();
    for (const version of ['1.1.0', '1.2.0', '1.3.0'])
      await requestJson(`${app.url}/admin/deploy`, 'POST', { version });
    expect(
      (await requestJson(`${app.url}/admin/rollback`, 'POST', { version: '1.1.0' })).json,
    ).toMatchObject({ status: 'rolled-back', from: '1.3.0', version: '1.1.0' });
    expect(
      (await requestJson(`${app.url}/admin/rollback`, 'POST', { version: '1.1.0' })).json,
    ).toEqual({ status: 'already-at', version: '1.1.0' });
    expect((await requestJson(`${app.url}/api/version`)).json).toEqual({
      version: '1.1.0',
      previous: '1.0.0',
    });
    const unknown = await requestJson(`${app.url}/admin/rollback`, 'POST', { version: '9.9.9' });
    expect(unknown.status).toBe(409);
    expect(unknown.json).toEqual({
      error: 'cannot roll back to 9.9.9: it is not a version deployed before 1.1.0',
    });
  });

  it('treats deploying the current version again as done (idempotent)', async () => {
    const app = await start();
    await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '1.1.0' });
    await requestJson(`${app.url}/admin/deploy`, 'POST', { version: '1.1.0' });
    expect((await requestJson(`${app.url}/api/version`)).json).toEqual({
      version: '1.1.0',
      previous: '1.0.0',
    });
  });
});

describe('example app: as a process', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGTERM');
  });

  it('starts from the command line with --port and --state and stops on SIGTERM', async () => {
    const port = await findFreePort();
    const file = stateFile();
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'example-app/server.ts',
        '--port',
        String(port),
        '--state',
        file,
        '--version',
        '3.0.0',
      ],
      { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('listening on')) resolve(out);
      });
      child!.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    expect(line).toContain(`http://127.0.0.1:${port}`);
    expect((await requestJson(`http://127.0.0.1:${port}/api/health/db`)).json).toMatchObject({
      status: 'ok',
      version: '3.0.0',
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
