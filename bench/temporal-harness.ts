import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createPgshiftWorker, defaultWorkflowsPath } from '../src/temporal/worker';
import type { BenchInfra } from './infra';

/**
 * An in-process pgshift worker (the project's workflows, the given activities) on a unique
 * task queue of the bench's Temporal server, and a client to start workflows with. The
 * workflows are bundled once per bench run, before anything is timed.
 */
export interface BenchWorker {
  client: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
let runtimeInstalled = false;

export async function startBenchWorker(
  infra: BenchInfra,
  activities: object,
): Promise<BenchWorker> {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  }
  const { address, namespace } = await infra.temporal();
  bundle ??= bundleWorkflowCode({
    workflowsPath: defaultWorkflowsPath(),
    logger: new DefaultLogger('WARN'),
  });
  const workerConnection = await NativeConnection.connect({ address });
  const taskQueue = `bench-${randomBytes(5).toString('hex')}`;
  const worker = await createPgshiftWorker({
    connection: workerConnection,
    namespace,
    taskQueue,
    workflowBundle: await bundle,
    activities,
  });
  const running = worker.run();
  running.catch(() => undefined);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    client,
    taskQueue,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await workerConnection.close();
    },
  };
}
