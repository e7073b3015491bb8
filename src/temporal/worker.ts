import { hostname } from 'node:os';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type LogEntry,
  type LogLevel,
  type WorkerOptions,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities, type Activities } from '../../activities';
import { loadConfig } from '../config';
import { UsageError } from '../errors';
import { activityMetricsInterceptor } from './activity-metrics';
import { connectClient, connectWorker } from './connection';
import { redactFailuresInterceptor } from './redact-failures';
import { serveMetrics, type MetricsServer } from './metrics';
import { ensureSearchAttributes } from './search-attributes';
import { resolveModulePath } from './module-path';
import { taskQueueFromEnv } from './task-queue';

/** Worker-level failure types: a nondeterministic workflow fails instead of retrying forever. */
export const WORKFLOW_FAILURE_ERROR_TYPES: WorkerOptions['workflowFailureErrorTypes'] = {
  '*': ['NondeterminismError', 'DeterminismViolationError'],
};

/**
 * `workflows/index` next to src/: the TypeScript source under vitest/tsx,
 * `dist/workflows/index.js` once built.
 */
export function defaultWorkflowsPath(): string {
  const path = resolveModulePath(__dirname, '../../workflows');
  if (!path)
    throw new UsageError(
      `no workflows module next to ${__dirname} (expected workflows/index): run \`npm run build\` or reinstall pgshift`,
    );
  return path;
}

export interface PgshiftWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  /** Default: PGSHIFT_TASK_QUEUE or `pgshift`. */
  taskQueue?: string;
  /** A pre-built bundle (tests bundle once per file); otherwise `workflowsPath` is bundled. */
  workflowBundle?: WorkflowBundleOption;
  /** Module re-exporting every workflow function; default `defaultWorkflowsPath()`. */
  workflowsPath?: string;
  /** The object returned by `createActivities(deps)`. */
  activities?: object;
  identity?: string;
  /** How long in-flight activities get to finish on shutdown. */
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

/** A worker with pgshift's conventions (task queue, failure types, identity). */
export async function createPgshiftWorker(options: PgshiftWorkerOptions): Promise<Worker> {
  // Bundle ourselves with a quiet logger (the SDK logs webpack's whole report at INFO).
  const workflowBundle =
    options.workflowBundle ??
    (await bundleWorkflowCode({
      workflowsPath: options.workflowsPath ?? defaultWorkflowsPath(),
      logger: new DefaultLogger('WARN'),
    }));
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? taskQueueFromEnv(),
    workflowBundle,
    activities: options.activities,
    identity: options.identity ?? `pgshift-worker@${hostname()}:${process.pid}`,
    workflowFailureErrorTypes: WORKFLOW_FAILURE_ERROR_TYPES,
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
    // Failures redacted before they reach history (outermost); step start/end logs and
    // pgshift's own metrics (served by `startAppMetrics`).
    interceptors: { activity: [redactFailuresInterceptor(), activityMetricsInterceptor()] },
  });
}

let activityConnection: ReturnType<typeof connectClient> | undefined;
/** The activities' Temporal client (environment lease), connected once; closed by `runWorker`. */
function activityClient(): ReturnType<typeof connectClient> {
  activityConnection ??= connectClient().catch((error) => {
    activityConnection = undefined;
    throw error;
  });
  return activityConnection;
}

/** Builds the activities of `activities/index` with the loaded config. */
export function loadDefaultActivities(configPath?: string): Activities {
  const config = loadConfig({ path: configPath });
  // The environment lease's activities signal-with-start its workflow: a client on the same
  // server, namespace and TLS settings as the worker (TEMPORAL_*), connected on first use.
  return createActivities({ config, env: process.env, client: activityClient });
}

function logLevelFromEnv(env: NodeJS.ProcessEnv): LogLevel {
  const level = (env.PGSHIFT_LOG_LEVEL ?? 'INFO').toUpperCase();
  return (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(level) ? level : 'INFO') as LogLevel;
}

/** Human lines on a terminal, one JSON object per line otherwise (log shippers). */
export function createLogger(env: NodeJS.ProcessEnv = process.env): DefaultLogger {
  const json = !process.stderr.isTTY;
  return new DefaultLogger(logLevelFromEnv(env), (entry: LogEntry) => {
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    const line = json
      ? JSON.stringify({ time, level: entry.level, message: entry.message, ...entry.meta })
      : `${time} ${entry.level.padEnd(5)} ${entry.message}${
          entry.meta && Object.keys(entry.meta).length ? ' ' + JSON.stringify(entry.meta) : ''
        }`;
    process.stderr.write(line + '\n');
  });
}

/**
 * Installs the SDK runtime once per process: our logger, shutdown on SIGINT/SIGTERM, and
 * Prometheus metrics on `PGSHIFT_METRICS_PORT` (`/metrics`) when set.
 */
export function installRuntime(env: NodeJS.ProcessEnv = process.env): { metricsUrl?: string } {
  const metricsPort = env.PGSHIFT_METRICS_PORT?.trim();
  if (metricsPort && !/^\d+$/.test(metricsPort))
    throw new UsageError(`PGSHIFT_METRICS_PORT=${metricsPort} is not a port number`);
  const bindHost = env.PGSHIFT_METRICS_HOST?.trim() || '0.0.0.0';
  try {
    Runtime.install({
      logger: createLogger(env),
      shutdownSignals: ['SIGINT', 'SIGTERM'],
      telemetryOptions: metricsPort
        ? { metrics: { prometheus: { bindAddress: `${bindHost}:${metricsPort}` } } }
        : undefined,
    });
  } catch (error) {
    // Already installed in this process (e.g. by the demo): keep that runtime's settings.
    if (!/already been instantiated/i.test(String(error))) throw error;
    return {};
  }
  return metricsPort ? { metricsUrl: `http://${bindHost}:${metricsPort}/metrics` } : {};
}

/**
 * pgshift's own metrics (migration and rollback success rates, step durations) on
 * `PGSHIFT_APP_METRICS_PORT`, or on PGSHIFT_METRICS_PORT + 1 when only that is set;
 * nothing when neither is set.
 */
export async function startAppMetrics(
  env: NodeJS.ProcessEnv = process.env,
): Promise<MetricsServer | undefined> {
  const explicit = env.PGSHIFT_APP_METRICS_PORT?.trim();
  const sdkPort = env.PGSHIFT_METRICS_PORT?.trim();
  const value = explicit || (sdkPort && /^\d+$/.test(sdkPort) ? String(Number(sdkPort) + 1) : '');
  if (!value) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new UsageError(`PGSHIFT_APP_METRICS_PORT=${value} is not a port number`);
  const host = env.PGSHIFT_METRICS_HOST?.trim() || '0.0.0.0';
  try {
    return await serveMetrics(Number(value), host);
  } catch (error) {
    throw new UsageError(
      `cannot serve pgshift metrics on ${host}:${value} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): set PGSHIFT_APP_METRICS_PORT to a free port`,
    );
  }
}

export interface RunWorkerOptions {
  /** The activities; default `createActivities({ config, env })` from activities/index. */
  activities?: object;
  /** `--config` path for the default activities. */
  configPath?: string;
  workflowsPath?: string;
  taskQueue?: string;
  /** Register missing search attributes even on a server that is not a dev server. */
  registerSearchAttributes?: boolean;
  /** Progress lines for people; stderr by default. */
  print?: (line: string) => void;
  /** Resolves once the worker polls (after the search attribute check). */
  onRunning?: (info: { address: string; namespace: string; taskQueue: string }) => void;
}

/**
 * Registers missing search attributes on a dev server, stops with the exact command
 * otherwise; where the operator API is unavailable (Temporal Cloud) it only warns.
 */
async function checkSearchAttributes(
  connection: NativeConnection,
  namespace: string,
  register: boolean | undefined,
  print: (line: string) => void,
): Promise<void> {
  try {
    const { registered } = await ensureSearchAttributes(connection, namespace, { register });
    if (registered.length) print(`registered search attributes: ${registered.join(', ')}`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    print(
      `warning: could not check the search attributes of namespace "${namespace}" (${
        (error as Error).message.split('\n')[0]
      }): make sure PgshiftEnvironment, PgshiftPhase, PgshiftWorkflowKind, PgshiftPlanChecksum and PgshiftInitiator exist (Keyword)`,
    );
  }
}

/**
 * `pgshift worker`: connects from TEMPORAL_* env vars, checks the search attributes, polls
 * the task queue until SIGINT/SIGTERM, then drains and returns.
 */
export async function runWorker(options: RunWorkerOptions = {}): Promise<void> {
  const print = options.print ?? ((line: string) => process.stderr.write(line + '\n'));
  const activities = options.activities ?? loadDefaultActivities(options.configPath);
  const { metricsUrl } = installRuntime();
  const { connection, namespace, address } = await connectWorker();
  try {
    await checkSearchAttributes(connection, namespace, options.registerSearchAttributes, print);
    const taskQueue = options.taskQueue ?? taskQueueFromEnv();
    const worker = await createPgshiftWorker({
      connection,
      namespace,
      taskQueue,
      workflowsPath: options.workflowsPath,
      activities,
    });
    const appMetrics = await startAppMetrics();
    print(
      `pgshift worker polling task queue "${taskQueue}" on ${address} (namespace ${namespace})${
        metricsUrl ? `; metrics at ${metricsUrl}` : ''
      }${appMetrics ? `; pgshift metrics at ${appMetrics.url}` : ''}; Ctrl-C to stop`,
    );
    options.onRunning?.({ address, namespace, taskQueue });
    try {
      await worker.run();
    } finally {
      await appMetrics?.close();
    }
    print('pgshift worker stopped');
  } finally {
    await connection.close();
    await activityConnection?.then((c) => c.connection.close()).catch(() => undefined);
  }
}
