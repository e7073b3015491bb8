import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExampleApp, type RunningExampleApp } from '../../example-app/server';
import { checkAllHealth, checkHealth, readAppVersion } from '../../src/app/health';
import { notify } from '../../src/app/notify';
import { findFreePort } from '../../src/temporal/free-port';
import { ConnectionError } from '../../src/errors';
import { requestJson, startRecordingServer } from './helpers';

let app: RunningExampleApp;

beforeAll(async () => {
  app = await startExampleApp({
    stateFile: join(mkdtempSync(join(tmpdir(), 'pgshift-health-')), 'state.json'),
    initialVersion: '7.1.0',
  });
});
afterAll(async () => {
  await app?.stop();
});

const fault = (body: Record<string, unknown>) =>
  requestJson(`${app.url}/admin/fault`, 'POST', body);

describe('notifications', () => {
  it('posts Slack-compatible JSON that a webhook receives', async () => {
    const webhook = await startRecordingServer();
    try {
      const result = await notify(webhook.url, {
        title: 'Deploy of plan 3f2a9c1b awaiting approval',
        text: 'Missing: *devops*, *product-owner*',
        fields: { environment: 'production', initiator: 'erin' },
        severity: 'warning',
      });
      expect(result).toMatchObject({ delivered: true, status: 200 });
      expect(webhook.received).toHaveLength(1);
      expect(webhook.received[0].method).toBe('POST');
      expect(webhook.received[0].headers['content-type']).toBe('application/json');
      const body = JSON.parse(webhook.received[0].body) as {
        text: string;
        blocks: { type: string; fields?: { text: string }[] }[];
      };
      expect(body.text).toContain('Deploy of plan 3f2a9c1b awaiting approval');
      expect(body.text).toContain('environment: production');
      expect(body.blocks[0]).toMatchObject({ type: 'header' });
      expect(body.blocks[2].fields?.map((f) => f.text)).toEqual([
        '*environment*\nproduction',
        '*initiator*\nerin',
      ]);
    } finally {
      await webhook.stop();
    }
  });

  it('reads the webhook URL from the variable the config names', async () => {
    const webhook = await startRecordingServer();
    try {
      const result = await notify(
        { webhookUrlEnv: 'TEST_SLACK_URL' },
        { title: 't', text: 'x', severity: 'info' },
        { env: { TEST_SLACK_URL: webhook.url } },
      );
      expect(result.delivered).toBe(true);
      expect(webhook.received).toHaveLength(1);
    } finally {
      await webhook.stop();
    }
  });

  it('keeps credentials out of the message', async () => {
    const webhook = await startRecordingServer();
    try {
      await notify(webhook.url, {
        title: 't',
        text: 'failed on postgres://deploy:pa55word@db/app',
        severity: 'critical',
      });
      expect(webhook.received[0].body).not.toContain('pa55word');
    } finally {
      await webhook.stop();
    }
  });

  it('does not throw when the webhook fails, and says why', async () => {
    const webhook = await startRecordingServer(() => ({ status: 500, body: 'no' }));
    try {
      expect(await notify(webhook.url, { title: 't', text: 'x', severity: 'info' })).toMatchObject({
        delivered: false,
        status: 500,
        error: 'the notification webhook answered HTTP 500',
      });
    } finally {
      await webhook.stop();
    }
    const port = await findFreePort();
    const unreachable = await notify(`http://127.0.0.1:${port}/hook`, {
      title: 't',
      text: 'x',
      severity: 'info',
    });
    expect(unreachable.delivered).toBe(false);
    expect(unreachable.error).toMatch(/ECONNREFUSED/);
  });

  it('skips quietly when no webhook is configured', async () => {
    expect(await notify(undefined, { title: 't', text: 'x', severity: 'info' })).toMatchObject({
      delivered: false,
      skipped: true,
    });
    expect(
      await notify(
        { webhookUrlEnv: 'UNSET_VAR' },
        { title: 't', text: 'x', severity: 'info' },
        { env: {} },
      ),
    ).toMatchObject({
      skipped: true,
    });
  });
});

describe('health checks', () => {
  it('passes with the status and latency of a healthy endpoint', async () => {
    await fault({ mode: 'none' });
    const result = await checkHealth({ name: 'api', url: `${app.url}/api/health` });
    expect(result).toMatchObject({ name: 'api', ok: true, status: 200 });
    expect(result.latencyMs).toBeLessThan(2000);
    expect(result.error).toBeUndefined();
  });

  it('fails on a wrong status', async () => {
    await fault({ mode: 'fail' });
    try {
      expect(await checkHealth({ name: 'api', url: `${app.url}/api/health` })).toMatchObject({
        ok: false,
        status: 500,
        error: 'HTTP 500, expected 200',
      });
    } finally {
      await fault({ mode: 'none' });
    }
  });

  it('fails when slower than the latency limit', async () => {
    await fault({ mode: 'slow', latencyMs: 250 });
    try {
      const result = await checkHealth({
        name: 'api',
        url: `${app.url}/api/health`,
        maxLatencyMs: 100,
      });
      expect(result).toMatchObject({ ok: false, status: 200 });
      expect(result.latencyMs).toBeGreaterThanOrEqual(245);
      expect(result.error).toMatch(/over the 100 ms limit/);
    } finally {
      await fault({ mode: 'none' });
    }
  });

  it('gives up after its timeout', async () => {
    await fault({ mode: 'slow', latencyMs: 3000 });
    try {
      const result = await checkHealth({
        name: 'api',
        url: `${app.url}/api/health`,
        timeoutMs: 200,
      });
      expect(result).toMatchObject({ ok: false, status: 0, error: 'no answer within 200 ms' });
    } finally {
      await fault({ mode: 'none' });
    }
  });

  it('reports an unreachable endpoint and an expected non-200 status', async () => {
    const port = await findFreePort();
    const [down, db] = await checkAllHealth([
      { name: 'down', url: `http://127.0.0.1:${port}/api/health` },
      { name: 'db', url: `${app.url}/api/health/db`, expectStatus: 503 },
    ]);
    expect(down).toMatchObject({ ok: false, status: 0 });
    expect(down.error).toMatch(/cannot reach .*ECONNREFUSED/);
    expect(db).toMatchObject({ ok: true, status: 503 });
  });
});

describe('application version', () => {
  it('reads the version from JSON', async () => {
    expect(await readAppVersion(`${app.url}/api/version`)).toBe('7.1.0');
  });

  it('reads a plain-text version', async () => {
    const server = await startRecordingServer(() => ({ status: 200, body: '2.0.1\n' }));
    try {
      expect(await readAppVersion(server.url)).toBe('2.0.1');
    } finally {
      await server.stop();
    }
  });

  it('throws a ConnectionError naming the URL when it cannot read it', async () => {
    const port = await findFreePort();
    await expect(readAppVersion(`http://127.0.0.1:${port}/api/version`)).rejects.toThrow(
      ConnectionError,
    );
    await expect(readAppVersion(`${app.url}/nope`)).rejects.toThrow(/answered HTTP 404/);
  });
});
