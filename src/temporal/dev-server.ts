import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { findFreePort } from './free-port';
import { PGSHIFT_SEARCH_ATTRIBUTES, devServerSearchAttributeArgs } from './search-attributes';
import { resolveTemporalBinary } from './temporal-binary';
import { isPortOpen } from './port-probe';

export interface DevServerOptions {
  /** SQLite file for persistence across restarts; in memory when absent. */
  dbFile?: string;
  /** gRPC port; a free one when absent. */
  port?: number;
  /** Web UI port; a free one when absent. */
  uiPort?: number;
  /** Namespace to create besides `default` and to report; `default` when absent. */
  namespace?: string;
  /** No Web UI (lighter, for tests that do not look at it). */
  headless?: boolean;
  /** Append the server's own output to this file instead of keeping its tail in memory. */
  logFile?: string;
  /** `--log-level` of the server: warn by default. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** The Temporal CLI to run; resolved (and built when missing) by default. */
  binary?: string;
  /** Progress lines (building the CLI); stderr by default. */
  log?: (line: string) => void;
  /** How long to wait for the server to answer. */
  startTimeoutMs?: number;
}

export interface DevServer {
  /** `127.0.0.1:<port>`, for TEMPORAL_ADDRESS. */
  address: string;
  namespace: string;
  /** `http://127.0.0.1:<uiPort>`, undefined when headless. */
  uiUrl?: string;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

const IP = '127.0.0.1';

/**
 * Starts `temporal server start-dev` on 127.0.0.1 with pgshift's search attributes and
 * resolves once the frontend answers and the namespace exists. Without a Temporal CLI and
 * without Go, falls back to `@temporalio/testing`'s downloaded dev server.
 */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const namespace = options.namespace ?? 'default';
  const binary = options.binary ?? (await resolveTemporalBinary({ log: options.log }));
  if (!binary) return startDownloadedDevServer(options, namespace);
  const autoPorts = options.port === undefined && options.uiPort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnDevServer(binary, options, namespace);
    } catch (error) {
      // A free port can be taken between choosing it and binding it: choose again.
      if (!autoPorts || attempt >= 3 || !/address already in use/i.test(String(error))) throw error;
    }
  }
}

async function spawnDevServer(
  binary: string,
  options: DevServerOptions,
  namespace: string,
): Promise<DevServer> {
  const port = options.port ?? (await findFreePort());
  const uiPort = options.headless ? undefined : (options.uiPort ?? (await findFreePort()));
  const args = [
    'server',
    'start-dev',
    '--ip',
    IP,
    '--port',
    String(port),
    '--log-level',
    options.logLevel ?? 'warn',
    ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(namespace !== 'default' ? ['--namespace', namespace] : []),
    ...devServerSearchAttributeArgs(),
  ];
  if (options.dbFile) mkdirSync(dirname(options.dbFile), { recursive: true });

  let logFd: number | undefined;
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    logFd = openSync(options.logFile, 'a');
  }
  // Own process group: a terminal's Ctrl-C reaches us, and we stop the server after the worker.
  const child = spawn(binary, args, {
    detached: true,
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
  });
  if (logFd !== undefined) closeSync(logFd);
  const tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail.push(...chunk.toString().split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `the Temporal dev server exited (${signal ?? `code ${code}`}) while starting on ${IP}:${port}: ${
            tail.slice(-5).join(' | ') || (options.logFile ? `see ${options.logFile}` : 'no output')
          }`,
        ),
      ),
    );
  });
  exited.catch(() => undefined);

  const stop = async () => {
    process.off('exit', killOnExit);
    await stopChild(child);
  };
  try {
    await Promise.race([
      exited,
      waitUntilServing(`${IP}:${port}`, namespace, uiPort, options.startTimeoutMs ?? 90_000),
    ]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    address: `${IP}:${port}`,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://${IP}:${uiPort}`,
    stop,
  };
}

/** Polls until the frontend answers, the namespace is registered and the Web UI listens. */
async function waitUntilServing(
  address: string,
  namespace: string,
  uiPort: number | undefined,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const port = Number(address.split(':')[1]);
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (await isPortOpen(IP, port, 500)) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: '2s' });
        try {
          await connection.workflowService.describeNamespace({ namespace });
        } finally {
          await connection.close();
        }
        if (uiPort === undefined || (await isPortOpen(IP, uiPort, 500))) return;
      } catch (error) {
        lastError = error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `the Temporal dev server on ${address} did not become ready within ${timeoutMs / 1000}s${
      lastError ? `: ${(lastError as Error).message}` : ''
    }`,
  );
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** No Temporal CLI and no Go: `@temporalio/testing` downloads a dev server (needs internet). */
async function startDownloadedDevServer(
  options: DevServerOptions,
  namespace: string,
): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const port = options.port ?? (await findFreePort());
  const uiPort = options.headless ? undefined : (options.uiPort ?? (await findFreePort()));
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: IP,
      port,
      ui: uiPort !== undefined,
      uiPort,
      dbFilename: options.dbFile,
      namespace,
      log: { format: 'pretty', level: options.logLevel ?? 'warn' },
      searchAttributes: [...PGSHIFT_SEARCH_ATTRIBUTES],
    },
  });
  return {
    address: env.address,
    namespace,
    uiUrl: uiPort === undefined ? undefined : `http://${IP}:${uiPort}`,
    stop: () => env.teardown(),
  };
}
