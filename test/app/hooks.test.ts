import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import { ConfigError } from '../../src/config';
import { runHook } from '../../src/app/hooks';
import { findFreePort } from '../../src/temporal/free-port';
import { requestJson, startRecordingServer } from './helpers';

let app: RunningExampleApp;

beforeAll(async () => {
  app = await startExampleApp({
    stateFile: join(mkdtempSync(join(tmpdir(), 'pgshift-hook-')), 'state.json'),
  });
});
afterAll(async () => {
  await app?.stop();
});

const node = process.execPath;

describe('command hooks (execFile)', () => {
  it('deploys the example app with its command-line hook, placeholders substituted', async () => {
    const result = await runHook(
      {
        command: [
          node,
          '--import',
          'tsx',
          'example-app/hook.ts',
          'deploy',
          '{version}',
          '--url',
          '{appUrl}',
        ],
      },
      { version: '4.2.0', appUrl: app.url },
    );
    expect(result).toMatchObject({ ok: true, kind: 'command', exitCode: 0 });
    expect(result.output).toContain('deploy ok (HTTP 200)');
    expect(result.durationMs).toBeGreaterThan(0);
    expect((await requestJson(`${app.url}/api/version`)).json).toMatchObject({ version: '4.2.0' });

    const rollbackHook = {
      command: [
        node,
        '--import',
        'tsx',
        'example-app/hook.ts',
        'rollback',
        '{version}',
        '--url',
        '{appUrl}',
      ],
    };
    const rollback = await runHook(rollbackHook, { version: '1.0.0', appUrl: app.url });
    expect(rollback.ok).toBe(true);
    expect((await requestJson(`${app.url}/api/version`)).json).toMatchObject({ version: '1.0.0' });
    // A retried rollback hook (the worker died after it ran) does not go back a second time.
    const retried = await runHook(rollbackHook, { version: '1.0.0', appUrl: app.url });
    expect(retried.output).toContain('"status":"already-at"');
    expect((await requestJson(`${app.url}/api/version`)).json).toMatchObject({ version: '1.0.0' });
  });

  it('never uses a shell: a placeholder value stays one literal argument', async () => {
    const result = await runHook(
      { command: [node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '{version}'] },
      { version: '1.0; echo hacked $(whoami)' },
    );
    expect(JSON.parse(result.output)).toEqual(['1.0; echo hacked $(whoami)']);
  });

  it('reports the exit code and output of a failing command', async () => {
    const result = await runHook(
      { command: [node, '-e', 'console.error("migration app broke"); process.exit(4)'] },
      {},
    );
    expect(result).toMatchObject({ ok: false, exitCode: 4 });
    expect(result.error).toMatch(/exited with code 4/);
    expect(result.output).toContain('migration app broke');
  });

  it('passes configured environment variables and keeps secrets out of the output', async () => {
    const result = await runHook(
      {
        command: [
          node,
          '-e',
          'console.log(process.env.DEPLOY_TOKEN, process.env.TARGET, "postgres://app:hunter22@db/x")',
        ],
        env: { DEPLOY_TOKEN: 'tok-abcdef-123', TARGET: 'v{version}' },
      },
      { version: '9' },
    );
    expect(result.ok).toBe(true);
    expect(result.output).toContain('v9');
    expect(result.output).toContain('<DEPLOY_TOKEN>');
    expect(result.output).not.toContain('tok-abcdef-123');
    expect(result.output).not.toContain('hunter22');
  });

  it('says when the program does not exist', async () => {
    const result = await runHook({ command: ['/nonexistent/deploy-app'] }, {});
    expect(result).toMatchObject({ ok: false, exitCode: null });
    expect(result.error).toMatch(/program not found: \/nonexistent\/deploy-app/);
  });

  it('kills a command that runs past its timeout', async () => {
    const result = await runHook(
      { command: [node, '-e', 'setTimeout(() => {}, 30000)'], timeoutMs: 300 },
      {},
    );
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/timed out after 300 ms/);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    const pending = runHook(
      { command: [node, '-e', 'setTimeout(() => {}, 30000)'] },
      {},
      controller.signal,
    );
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toMatchObject({ ok: false, error: 'cancelled' });
  });

  it('refuses a placeholder pgshift does not provide', async () => {
    await expect(runHook({ command: ['echo', '{release}'] }, { version: '1' })).rejects.toThrow(
      ConfigError,
    );
    await expect(runHook({ command: ['echo', '{release}'] }, { version: '1' })).rejects.toThrow(
      /uses \{release\} but pgshift provides only \{version\}/,
    );
  });
});

describe('HTTP hooks', () => {
  it('deploys and rolls back the example app over HTTP', async () => {
    const deploy = await runHook({ url: `${app.url}/admin/deploy` }, { version: '5.0.0' });
    expect(deploy).toMatchObject({ ok: true, kind: 'http', status: 200 });
    expect(JSON.parse(deploy.output)).toMatchObject({ version: '5.0.0' });
    const rollback = await runHook({ url: `${app.url}/admin/rollback` }, {});
    expect(rollback).toMatchObject({ ok: true, status: 200 });
    expect((await requestJson(`${app.url}/api/version`)).json).toMatchObject({ version: '1.0.0' });
  });

  it('posts the variables as JSON with the configured method and headers', async () => {
    const server = await startRecordingServer();
    try {
      const result = await runHook(
        {
          url: `${server.url}/deploy/{version}`,
          method: 'PUT',
          headers: { authorization: 'Bearer x' },
        },
        { version: '1.2 beta' },
      );
      expect(result.ok).toBe(true);
      expect(server.received[0]).toMatchObject({ method: 'PUT', path: '/deploy/1.2%20beta' });
      expect(server.received[0].headers.authorization).toBe('Bearer x');
      expect(JSON.parse(server.received[0].body)).toEqual({ version: '1.2 beta' });
    } finally {
      await server.stop();
    }
  });

  it('reports a refusal with its status and body', async () => {
    const fresh = await startExampleApp({
      stateFile: join(mkdtempSync(join(tmpdir(), 'pgshift-hook-')), 's.json'),
    });
    try {
      const result = await runHook({ url: `${fresh.url}/admin/rollback` }, {});
      expect(result).toMatchObject({ ok: false, status: 409 });
      expect(result.error).toMatch(/answered HTTP 409/);
      expect(result.output).toContain('no previous version');
    } finally {
      await fresh.stop();
    }
  });

  it('reports an unreachable application', async () => {
    const port = await findFreePort();
    const result = await runHook(
      { url: `http://127.0.0.1:${port}/admin/deploy` },
      { version: '1' },
    );
    expect(result).toMatchObject({ ok: false, status: 0 });
    expect(result.error).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('gives up on an application that does not answer in time', async () => {
    const server = await startRecordingServer(() => ({ status: 200, delayMs: 5_000 }));
    try {
      const result = await runHook({ url: server.url, timeoutMs: 200 }, {});
      expect(result).toMatchObject({ ok: false, status: 0 });
      expect(result.error).toMatch(/no answer from .* within 200 ms/);
    } finally {
      await server.stop();
    }
  });
});
