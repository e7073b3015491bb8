import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * A warning when no worker has polled `taskQueue` lately: the workflow just started will wait,
 * silently, until a pgshift worker runs. Undefined when a worker polls, or when the server
 * cannot tell (the warning is a courtesy, never a reason to fail).
 */
export async function noWorkerWarning(
  client: Client,
  taskQueue: string,
): Promise<string | undefined> {
  try {
    const answer = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: {
        name: taskQueue,
        kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
      },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((answer.pollers ?? []).length > 0) return undefined;
    return `no worker is polling task queue "${taskQueue}" in namespace "${client.options.namespace}": the workflow waits until one starts (run \`pgshift worker\` with the same TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and PGSHIFT_TASK_QUEUE)`;
  } catch {
    return undefined;
  }
}
