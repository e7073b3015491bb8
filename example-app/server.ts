/**
 * The guide's churn-saver application, small but real: what pgshift deploys, health-checks,
 * slows down, breaks and rolls back in tests and in the demo.
 *
 *   GET  /api/health      200 {status:'ok', version}
 *   GET  /api/health/db   SELECT 1 and row counts of events / recovery_cases (503 when the database fails)
 *   GET  /api/version     {version, previous}
 *   GET  /api/metrics     request counts, error rate, latency percentiles
 *   POST /admin/deploy    {version}            switch to a version (persisted in the state file)
 *   POST /admin/rollback  {version?}           back to the previous version, or to `version`
 *                                              (idempotent: already at it is success)
 *   POST /admin/fault     {mode:'none'|'fail'|'slow', latencyMs?, errorRatePercent?, version?}
 *   POST /admin/metrics/reset
 *
 * Run: node dist/example-app/server.js --port 3100 --state .pgshift/app-state.json
 * (DATABASE_URL from the environment; ADMIN_TOKEN, when set, guards /admin/*).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { RequestMetrics } from './metrics';
import { deployVersion, readState, rollbackVersion, writeState, type AppState } from './state';

export interface ExampleAppOptions {
  port?: number; // 0 or absent: any free port
  host?: string; // default 127.0.0.1
  stateFile: string;
  databaseUrl?: string;
  initialVersion?: string; // default '1.0.0'
  adminToken?: string;
}

export interface Fault {
  mode: 'none' | 'fail' | 'slow';
  latencyMs: number;
  errorRatePercent: number;
  /** When set, the fault applies only while this version is deployed. */
  version?: string;
}

export interface RunningExampleApp {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const NO_FAULT: Fault = { mode: 'none', latencyMs: 0, errorRatePercent: 0 };

/** Starts the app; resolves once it listens. */
export async function startExampleApp(options: ExampleAppOptions): Promise<RunningExampleApp> {
  const initialVersion = options.initialVersion ?? '1.0.0';
  let state: AppState = readState(options.stateFile, initialVersion);
  let fault: Fault = NO_FAULT;
  let faultCounter = 0;
  const metrics = new RequestMetrics();
  const pool = options.databaseUrl
    ? new Pool({
        connectionString: options.databaseUrl,
        max: 4,
        connectionTimeoutMillis: 3_000,
        idleTimeoutMillis: 5_000,
        application_name: 'churn-saver-example',
      })
    : undefined;
  pool?.on('error', () => {
    /* an idle connection dropped: the next query reports it */
  });

  const faultApplies = () =>
    fault.mode !== 'none' && (!fault.version || fault.version === state.current);
  const shouldFail = () => {
    const rate = fault.errorRatePercent;
    const before = Math.floor((faultCounter * rate) / 100);
    faultCounter++;
    return Math.floor((faultCounter * rate) / 100) > before;
  };

  async function handleApi(path: string): Promise<[number, unknown]> {
    switch (path) {
      case '/api/health':
        return [200, { status: 'ok', version: state.current }];
      case '/api/health/db':
        return databaseHealth(pool, state.current);
      default:
        return [404, { error: `no route ${path}` }];
    }
  }

  async function handleAdmin(
    path: string,
    body: Record<string, unknown>,
  ): Promise<[number, unknown]> {
    switch (path) {
      case '/admin/deploy': {
        const version = body.version;
        if (typeof version !== 'string' || !/^[A-Za-z0-9._+-]{1,64}$/.test(version))
          return [
            400,
            { error: 'body must be {"version": "<version>"} (letters, digits, . _ + -)' },
          ];
        state = deployVersion(state, version);
        writeState(options.stateFile, state);
        return [200, { status: 'deployed', version: state.current, previous: state.previous }];
      }
      case '/admin/rollback': {
        const wanted = typeof body.version === 'string' && body.version ? body.version : undefined;
        const next = rollbackVersion(state, wanted);
        if (!next)
          return [
            409,
            {
              error: wanted
                ? `cannot roll back to ${wanted}: it is not a version deployed before ${state.current}`
                : `no previous version to roll back to (current ${state.current})`,
            },
          ];
        if (next === state) return [200, { status: 'already-at', version: state.current }];
        const from = state.current;
        state = next;
        writeState(options.stateFile, state);
        return [200, { status: 'rolled-back', from, version: state.current }];
      }
      case '/admin/fault': {
        const mode = body.mode;
        if (mode !== 'none' && mode !== 'fail' && mode !== 'slow')
          return [
            400,
            {
              error:
                'body must be {"mode": "none"|"fail"|"slow", "latencyMs"?, "errorRatePercent"?, "version"?}',
            },
          ];
        fault = {
          mode,
          latencyMs: numberOr(body.latencyMs, mode === 'slow' ? 3_000 : 0),
          errorRatePercent: numberOr(body.errorRatePercent, mode === 'fail' ? 100 : 0),
          ...(typeof body.version === 'string' ? { version: body.version } : {}),
        };
        faultCounter = 0;
        return [200, { fault }];
      }
      case '/admin/metrics/reset':
        metrics.reset();
        return [200, { status: 'reset' }];
      default:
        return [404, { error: `no route ${path}` }];
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const method = request.method ?? 'GET';
    let status = 500;
    let payload: unknown;
    try {
      if (path.startsWith('/admin/')) {
        if (method !== 'POST') [status, payload] = [405, { error: `${path} takes POST` }];
        else if (
          options.adminToken &&
          request.headers.authorization !== `Bearer ${options.adminToken}`
        )
          [status, payload] = [
            401,
            { error: 'admin endpoints need Authorization: Bearer <ADMIN_TOKEN>' },
          ];
        else [status, payload] = await handleAdmin(path, await readJsonBody(request));
      } else if (path === '/api/metrics')
        [status, payload] = [200, { version: state.current, fault, ...metrics.snapshot() }];
      else if (path === '/api/version')
        [status, payload] = [200, { version: state.current, previous: state.previous }];
      else if (path.startsWith('/api/')) {
        if (faultApplies() && fault.latencyMs > 0) await delay(fault.latencyMs);
        if (faultApplies() && fault.errorRatePercent > 0 && shouldFail())
          [status, payload] = [
            500,
            { status: 'error', error: 'injected fault', version: state.current },
          ];
        else [status, payload] = await handleApi(path);
        metrics.record(performance.now() - started, status);
      } else [status, payload] = [404, { error: `no route ${path}` }];
    } catch (error) {
      [status, payload] = [
        error instanceof BadRequest ? 400 : 500,
        { error: (error as Error).message },
      ];
    }
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(payload));
  }

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool?.end().catch(() => undefined);
    },
  };
}

const COUNTED_TABLES = ['events', 'recovery_cases'];

async function databaseHealth(pool: Pool | undefined, version: string): Promise<[number, unknown]> {
  if (!pool) return [503, { status: 'unavailable', version, error: 'DATABASE_URL is not set' }];
  const started = performance.now();
  try {
    await pool.query('SELECT 1');
    const counts: Record<string, number | null> = {};
    for (const table of COUNTED_TABLES) {
      const exists = await pool.query('SELECT to_regclass($1) IS NOT NULL AS present', [table]);
      counts[table] = exists.rows[0].present
        ? Number((await pool.query(`SELECT count(*)::bigint AS n FROM ${table}`)).rows[0].n)
        : null;
    }
    return [
      200,
      { status: 'ok', version, latencyMs: Math.round(performance.now() - started), counts },
    ];
  } catch (error) {
    const message = (error as Error).message.replace(
      /postgres(ql)?:\/\/[^@\s]*@/g,
      'postgresql://***@',
    );
    return [503, { status: 'unavailable', version, error: message }];
  }
}

class BadRequest extends Error {}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new BadRequest('request body larger than 64 KiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new BadRequest('request body must be a JSON object');
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `--port N --state file [--host H] [--version V]`; DATABASE_URL and ADMIN_TOKEN from the environment. */
export function parseServerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ExampleAppOptions {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const port = Number(value('--port') ?? env.PORT ?? 3100);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a port number, got ${value('--port')}`);
  return {
    port,
    host: value('--host') ?? '127.0.0.1',
    stateFile: value('--state') ?? env.EXAMPLE_APP_STATE ?? '.pgshift/example-app-state.json',
    databaseUrl: env.DATABASE_URL || undefined,
    initialVersion: value('--version') ?? '1.0.0',
    adminToken: env.ADMIN_TOKEN || undefined,
  };
}

if (require.main === module) {
  const options = parseServerArgs(process.argv.slice(2));
  startExampleApp(options).then(
    (app) => {
      process.stdout.write(
        `churn-saver example app listening on ${app.url} (state ${options.stateFile})\n`,
      );
      const stop = () => void app.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error: Error) => {
      process.stderr.write(`example-app: ${error.message}\n`);
      process.exit(1);
    },
  );
}
