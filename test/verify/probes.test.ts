import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDatabase,
  checkHttpHealth,
  compareRowCounts,
  countRows,
  evaluateThresholds,
  measureBaseline,
  runSqlChecks,
  sampleMetrics,
} from '../../src/verify';
import { findFreePort } from '../../src/temporal/free-port';
import { createTestDatabase, query } from '../support/databases';

describe('checkDatabase', () => {
  it('runs SELECT 1 and reports latency and server version', async () => {
    const url = await createTestDatabase('verify');
    const result = await checkDatabase(url);
    expect(result.ok).toBe(true);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(result.serverVersion).toMatch(/^\d+/);
  });

  it('reports a refused password without the password', async () => {
    const url = new URL(await createTestDatabase('verify'));
    url.password = 'wrong-secret-123';
    const result = await checkDatabase(url.toString());
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/refused the credentials/);
    expect(result.error).not.toContain('wrong-secret-123');
  });
});

describe('row counts', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase('verify_counts');
    await query(
      url,
      `CREATE TABLE events (id int); INSERT INTO events SELECT generate_series(1, 7);
       CREATE SCHEMA billing; CREATE TABLE billing."Recovery Cases" (id int); INSERT INTO billing."Recovery Cases" VALUES (1), (2);`,
    );
  });

  it('counts plain, schema-qualified and quoted tables and reports missing ones', async () => {
    const counts = await countRows(url, [
      'events',
      'public.events',
      'billing."Recovery Cases"',
      'nope',
      'x"; DROP TABLE events; --',
    ]);
    expect(counts).toEqual({
      events: 7,
      'public.events': 7,
      'billing."Recovery Cases"': 2,
      nope: 'missing',
      'x"; DROP TABLE events; --': 'missing',
    });
    expect(await countRows(url, ['events'])).toEqual({ events: 7 });
  });

  it('flags a table that lost rows or disappeared, not one that grew', () => {
    const comparison = compareRowCounts(
      { events: 7, cases: 2, users: 5, old: 'missing' },
      { events: 9, cases: 1, old: 3 },
    );
    expect(comparison.ok).toBe(false);
    expect(comparison.drops).toEqual([
      { table: 'cases', before: 2, after: 1 },
      { table: 'users', before: 5, after: 'missing' },
    ]);
    expect(compareRowCounts({ events: 7 }, { events: 7 })).toEqual({ ok: true, drops: [] });
  });
});

describe('runSqlChecks', () => {
  it('judges each expectation and runs read-only with a statement timeout', async () => {
    const url = await createTestDatabase('verify_sql');
    await query(url, `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)`);
    const results = await runSqlChecks(
      url,
      [
        { name: 'select one', sql: 'SELECT 1' },
        { name: 'has rows', sql: 'SELECT * FROM t', expect: 'non-empty' },
        { name: 'no orphans', sql: 'SELECT * FROM t WHERE id > 5', expect: 'zero-rows' },
        { name: 'count is 2', sql: 'SELECT count(*) FROM t', expect: { equals: 2 } },
        { name: 'count is 3', sql: 'SELECT count(*) FROM t', expect: { equals: 3 } },
        { name: 'not empty fails', sql: 'SELECT * FROM t WHERE false', expect: 'non-empty' },
        { name: 'writes refused', sql: 'DELETE FROM t' },
        { name: 'slow query stopped', sql: 'SELECT pg_sleep(5)' },
        { name: 'syntax error', sql: 'SELEC 1' },
      ],
      { statementTimeoutMs: 200 },
    );
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['select one', true],
      ['has rows', true],
      ['no orphans', true],
      ['count is 2', true],
      ['count is 3', false],
      ['not empty fails', false],
      ['writes refused', false],
      ['slow query stopped', false],
      ['syntax error', false],
    ]);
    expect(results[4].detail).toBe('expected "3", got "2"');
    expect(results[6].detail).toMatch(/read-only transaction/);
    expect(results[7].detail).toMatch(/statement timeout/);
    expect(await query(url, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 2 }]);
  });
});

describe('HTTP health and metrics', () => {
  let server: Server;
  let base: string;
  let failing = false;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/ok') return void res.end('{"status":"ok"}');
      if (req.url === '/toggle') {
        res.statusCode = failing ? 503 : 200;
        return void res.end();
      }
      if (req.url === '/error') {
        res.statusCode = 500;
        return void res.end('boom');
      }
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 300);
      if (req.url === '/hang') return;
      if (req.url === '/metrics')
        return void res.end(JSON.stringify({ requests: 200, errors: 30 }));
      res.statusCode = 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes a fast 200', async () => {
    const result = await checkHttpHealth({ name: 'api', url: `${base}/ok`, maxLatencyMs: 1000 });
    expect(result).toMatchObject({ name: 'api', ok: true, status: 200 });
    expect(result.error).toBeUndefined();
  });

  it('fails a 500', async () => {
    const result = await checkHttpHealth({ name: 'api', url: `${base}/error`, maxLatencyMs: 1000 });
    expect(result).toMatchObject({ ok: false, status: 500, error: 'HTTP 500, expected 200' });
  });

  it('fails an answer slower than maxLatencyMs', async () => {
    const result = await checkHttpHealth({ name: 'api', url: `${base}/slow`, maxLatencyMs: 100 });
    expect(result).toMatchObject({ ok: false, status: 200 });
    expect(result.latencyMs).toBeGreaterThanOrEqual(250);
    expect(result.error).toMatch(/took \d+ ms, over the 100 ms limit/);
  });

  it('gives up on a server that never answers', async () => {
    const result = await checkHttpHealth({
      name: 'api',
      url: `${base}/hang`,
      maxLatencyMs: 50,
      timeoutMs: 200,
    });
    expect(result).toMatchObject({ ok: false, status: null, error: 'no answer within 200 ms' });
  });

  it('requires the expected status when one is given', async () => {
    const result = await checkHttpHealth({ name: 'api', url: `${base}/ok`, expectStatus: 204 });
    expect(result).toMatchObject({ ok: false, error: 'HTTP 200, expected 204' });
  });

  it('reports an unreachable URL', async () => {
    const port = await findFreePort();
    const result = await checkHttpHealth({ name: 'gone', url: `http://127.0.0.1:${port}/health` });
    expect(result).toMatchObject({
      ok: false,
      status: null,
      error: `cannot reach http://127.0.0.1:${port}/health: ECONNREFUSED`,
    });
  });

  it('measures a baseline and samples that evaluate against it', async () => {
    const url = await createTestDatabase('verify_metrics');
    const target = { databaseUrl: url, healthChecks: [{ name: 'api', url: `${base}/toggle` }] };
    const baseline = await measureBaseline({
      ...target,
      probeQueries: ['SELECT 1', 'SELECT count(*) FROM pg_class'],
    });
    expect(baseline.healthLatencyMs).not.toBeNull();
    expect(baseline.healthLatencyByName.api).toBe(baseline.healthLatencyMs);
    expect(baseline.probeLatencyMs).not.toBeNull();

    const healthy = await sampleMetrics(target);
    expect(healthy).toMatchObject({
      healthOk: true,
      dbOk: true,
      errorRatePercent: 0,
      errorRateSource: 'health-requests',
      requestCount: 1,
    });
    expect(healthy.dbConnectionsPercent).toBeGreaterThan(0);
    expect(healthy.dbConnectionsPercent).toBeLessThan(80);

    failing = true;
    let history = { consecutiveHealthFailures: 0 };
    const triggers: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const evaluation = evaluateThresholds(
        baseline,
        await sampleMetrics(target),
        undefined,
        history,
      );
      history = evaluation.history;
      triggers.push(evaluation.breached.map((b) => b.trigger));
    }
    failing = false;
    expect(triggers).toEqual([[], [], ['critical-functionality-broken']]);
    expect(history.consecutiveHealthFailures).toBe(3);
  });

  it('takes the error rate from the application metrics endpoint when given', async () => {
    const url = await createTestDatabase('verify_metrics');
    const sample = await sampleMetrics({
      databaseUrl: url,
      healthChecks: [{ name: 'api', url: `${base}/ok` }],
      metricsUrl: `${base}/metrics`,
    });
    expect(sample).toMatchObject({
      errorRatePercent: 15,
      errorRateSource: 'metrics',
      healthOk: true,
    });
  });

  it('marks the database down when it cannot be reached', async () => {
    const url = new URL(await createTestDatabase('verify_metrics'));
    url.port = '1';
    const sample = await sampleMetrics({ databaseUrl: url.toString(), healthChecks: [] });
    expect(sample).toMatchObject({
      dbOk: false,
      probeLatencyMs: null,
      dbConnectionsPercent: null,
      errorRateSource: 'none',
    });
    expect(sample.failures[0]).toMatch(/^database: cannot reach PostgreSQL/);
  });
});

describe('database probe on the tables a plan touches', () => {
  it('reads each existing table, so a lock held on one shows as probe latency', async () => {
    const url = await createTestDatabase('verify_probe_tables');
    await query(url, 'CREATE TABLE customers (id bigint PRIMARY KEY)');
    const target = {
      databaseUrl: url,
      healthChecks: [],
      probeTables: ['"customers"', '"created_by_the_plan"'],
    };
    const quiet = await sampleMetrics(target);
    expect(quiet.dbOk).toBe(true);
    expect(quiet.probeLatencyMs).toBeLessThan(500);

    const { Client } = await import('pg');
    const holder = new Client(url);
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE');
      const release = new Promise((r) => setTimeout(r, 1_000)).then(() => holder.query('COMMIT'));
      const blocked = await sampleMetrics(target);
      await release;
      expect(blocked.dbOk).toBe(true);
      expect(blocked.probeLatencyMs).toBeGreaterThanOrEqual(700);
    } finally {
      await holder.end();
    }
  });
});
