import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { isPortOpen } from '../../temporal/port-probe';

// The Temporal SDK (client and worker, ~0.5 s to load) is required only when a command runs:
// `pgshift --help` registers every command and must not pay for it.
const startDevServer: typeof import('../../temporal/dev-server').startDevServer = async (...args) =>
  (await import('../../temporal/dev-server')).startDevServer(...args);
const runWorker: typeof import('../../temporal/worker').runWorker = async (...args) =>
  (await import('../../temporal/worker')).runWorker(...args);

interface WorkerCommandOptions {
  config?: string;
  taskQueue?: string;
}

interface DevCommandOptions extends WorkerCommandOptions {
  port: string;
  uiPort: string;
  dbFile: string;
  worker: boolean;
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535)
    throw new UsageError(`${flag} "${value}" is not a TCP port (1-65535)`);
  return port;
}

const say = (line: string) => process.stdout.write(line + '\n');

/** `pgshift dev`: the dev server with its Web UI, then the worker, in the foreground. */
export async function runDev(options: DevCommandOptions): Promise<void> {
  const port = parsePort(options.port, '--port');
  const uiPort = parsePort(options.uiPort, '--ui-port');
  for (const [p, flag] of [
    [port, '--port'],
    [uiPort, '--ui-port'],
  ] as const) {
    if (await isPortOpen('127.0.0.1', p, 500))
      throw new UsageError(
        `port ${p} is already in use (another \`pgshift dev\` or Temporal server?): stop it, pass ${flag}, or run \`pgshift worker\` with TEMPORAL_ADDRESS pointing at the running server`,
      );
  }
  const dbFile = resolve(options.dbFile);
  const logFile = resolve(dbFile, '..', 'temporal.log');
  say(`starting the Temporal dev server (state in ${dbFile}, log in ${logFile})…`);
  const server = await startDevServer({
    port,
    uiPort,
    dbFile,
    logFile,
    log: say,
  });
  try {
    process.env.TEMPORAL_ADDRESS = server.address;
    process.env.TEMPORAL_NAMESPACE = server.namespace;
    if (server.uiUrl) process.env.PGSHIFT_WEB_UI = server.uiUrl;
    say(`Temporal dev server: ${server.address} (namespace ${server.namespace})`);
    say(`Temporal Web UI:     ${server.uiUrl}`);
    say(
      `in another terminal: export TEMPORAL_ADDRESS=${server.address} PGSHIFT_WEB_UI=${server.uiUrl}`,
    );
    if (options.worker) {
      await runWorker({
        configPath: options.config,
        taskQueue: options.taskQueue,
        registerSearchAttributes: true,
        print: say,
      });
    } else {
      say('no worker (--no-worker); Ctrl-C to stop');
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
    }
  } finally {
    say('stopping the Temporal dev server…');
    await server.stop();
    say('stopped');
  }
}

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'run the pgshift worker (workflows and activities) until SIGINT/SIGTERM; reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, PGSHIFT_TASK_QUEUE, TLS/API key variables, PGSHIFT_METRICS_PORT (SDK metrics) and PGSHIFT_APP_METRICS_PORT (pgshift metrics; default SDK port + 1)',
    )
    .option(
      '--config <path>',
      'pgshift config file (default ./pgshift.config.json or PGSHIFT_CONFIG)',
    )
    .option('--task-queue <name>', 'task queue to poll (default PGSHIFT_TASK_QUEUE or "pgshift")')
    .action(async (options: WorkerCommandOptions) => {
      await runWorker({ configPath: options.config, taskQueue: options.taskQueue });
    });

  program
    .command('dev')
    .description(
      'start the local stack in the foreground: a Temporal dev server (SQLite under .pgshift/, Web UI) and the worker; Ctrl-C stops both',
    )
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option(
      '--db-file <path>',
      'SQLite file keeping workflow state across restarts',
      '.pgshift/temporal.db',
    )
    .option('--no-worker', 'start only the dev server')
    .option('--config <path>', 'pgshift config file for the worker')
    .option('--task-queue <name>', 'task queue for the worker')
    .action(async (options: DevCommandOptions) => {
      await runDev(options);
    });
}
