import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createPgshiftWorker, defaultWorkflowsPath } from '../../src/temporal/worker';
import { findTemporalBinary } from '../../src/temporal/temporal-binary';

/** The dev server started by global-setup (or TEMPORAL_ADDRESS). */
export function temporalAddress(): string {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address)
    throw new Error(
      'TEMPORAL_ADDRESS is not set: run the tests with vitest (global-setup starts a Temporal dev server)',
    );
  return address;
}

export function temporalNamespace(): string {
  return process.env.TEMPORAL_NAMESPACE || 'default';
}

let runtimeInstalled = false;
/** Quiet SDK logs in tests (warnings and errors only); once per test process. */
function installQuietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    // already installed by the test file: keep it
  }
}

let env: Promise<TestWorkflowEnvironment> | undefined;

/** One environment per test file, connected to the shared dev server; close with `closeTestEnv`. */
export function testEnv(): Promise<TestWorkflowEnvironment> {
  installQuietRuntime();
  env ??= TestWorkflowEnvironment.createFromExistingServer({
    address: temporalAddress(),
    namespace: temporalNamespace(),
  });
  return env;
}

export async function closeTestEnv(): Promise<void> {
  const current = env;
  env = undefined;
  await (await current)?.teardown();
}

const bundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * The workflows bundled once per test file (default: ../../workflows, the project's), with
 * optional workflow interceptor modules (test worker configuration, e.g. shorter timeouts).
 */
export function workflowBundle(
  workflowsPath: string = defaultWorkflowsPath(),
  workflowInterceptorModules: string[] = [],
): Promise<WorkflowBundleWithSourceMap> {
  const key = [workflowsPath, ...workflowInterceptorModules].join('\0');
  let bundle = bundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath,
      workflowInterceptorModules,
      logger: new DefaultLogger('WARN'),
    });
    bundles.set(key, bundle);
  }
  return bundle;
}

/** Workflow interceptors that shorten every heartbeat timeout (see the module). */
export const SHORT_HEARTBEAT_INTERCEPTORS = join(__dirname, 'short-heartbeat-interceptors.ts');

/** A unique task queue so concurrent tests never steal each other's tasks. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface TestWorker {
  worker: Worker;
  taskQueue: string;
  env: TestWorkflowEnvironment;
  /**
   * Shuts the worker down and waits until it has stopped. Environment leases (workflows/lease)
   * running on its task queue are terminated, since no worker will run them again, unless
   * `keepLeases` (a worker restarted on the same task queue carries on with them).
   */
  stop(options?: { keepLeases?: boolean }): Promise<void>;
}

/**
 * A running worker (made by `createPgshiftWorker`) on a unique task queue with `activities`
 * and the bundled workflows (the project's, or `options.workflowsPath`).
 */
export async function startTestWorker(
  activities: object = {},
  options: {
    workflowsPath?: string;
    taskQueue?: string;
    workflowInterceptorModules?: string[];
  } = {},
): Promise<TestWorker> {
  const environment = await testEnv();
  const taskQueue = options.taskQueue ?? uniqueTaskQueue();
  const worker = await createPgshiftWorker({
    connection: environment.nativeConnection,
    namespace: environment.namespace ?? temporalNamespace(),
    taskQueue,
    workflowBundle: await workflowBundle(options.workflowsPath, options.workflowInterceptorModules),
    activities,
  });
  const running = worker.run();
  running.catch(() => undefined);
  return {
    worker,
    taskQueue,
    env: environment,
    stop: async ({ keepLeases = false } = {}) => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      if (!keepLeases) await endLeasesOn(environment.client, taskQueue);
    },
  };
}

/** `[command, args]` to spawn `pgshift <args>` from the sources (single process, signals reach it). */
export function pgshiftProcessArgs(args: string[]): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', join(__dirname, 'pgshift-cli.ts'), ...args]];
}

/**
 * Terminates the environment leases running on `taskQueue`: each test stack has its own task
 * queue but the same environment names, and a lease whose worker is gone would never grant
 * the next stack's requests.
 */
export async function endLeasesOn(client: Client, taskQueue: string): Promise<void> {
  const query = `WorkflowType = "environmentLease" AND TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`;
  for await (const lease of client.workflow.list({ query }))
    await client.workflow
      .getHandle(lease.workflowId, lease.runId)
      .terminate(`the test worker of task queue ${taskQueue} stopped`)
      .catch(() => undefined);
}

/** Sends the signal `name` (default `approve`) with the `temporal` CLI, as an operator does. */
export async function signalWithTemporalCli(
  workflowId: string,
  input: object,
  name = 'approve',
): Promise<void> {
  const temporal = findTemporalBinary();
  if (!temporal) throw new Error('the temporal CLI is missing: run scripts/ensure-temporal.sh');
  await promisify(execFile)(temporal, [
    'workflow',
    'signal',
    '--address',
    temporalAddress(),
    '--namespace',
    temporalNamespace(),
    '--workflow-id',
    workflowId,
    '--name',
    name,
    '--input',
    JSON.stringify(input),
  ]);
}
