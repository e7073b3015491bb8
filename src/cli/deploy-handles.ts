import type { Client, WorkflowHandle } from '@temporalio/client';
import { isTemporalError } from '../temporal/sdk-errors';
import { UsageError } from '../errors';
import { PgshiftPlanChecksum } from '../temporal/search-attribute-keys';
import { approvalsQuery, type ApprovalState } from '../../workflows/definitions';

/** A deploy's handle and the plan checksum it applies (from its search attribute, when set). */
export async function openDeploy(
  client: Client,
  workflowId: string,
): Promise<{ handle: WorkflowHandle; planChecksum?: string; status: string }> {
  const handle = client.workflow.getHandle(workflowId);
  try {
    const description = await handle.describe();
    const planChecksum = description.typedSearchAttributes.get(PgshiftPlanChecksum);
    return { handle, status: description.status.name, ...(planChecksum ? { planChecksum } : {}) };
  } catch (error) {
    throw explainDeployError(error, workflowId);
  }
}

/** Turns client errors about a deploy into one line a person can act on. */
export function explainDeployError(error: unknown, workflowId: string): unknown {
  if (isTemporalError(error, 'WorkflowNotFoundError'))
    return new UsageError(
      `no workflow ${workflowId}: check the id that \`pgshift deploy\` printed (or list them in the Web UI)`,
    );
  if (isTemporalError(error, 'WorkflowUpdateFailedError'))
    return new UsageError(
      `workflow ${workflowId} could not take the request: ${error.cause?.message ?? error.message}`,
    );
  if (isTemporalError(error, 'ServiceError') && /completed|not found/i.test(error.message))
    return new UsageError(
      `workflow ${workflowId} has already ended: ${error.message.split('\n')[0]}`,
    );
  return error;
}

/**
 * The approvals state of a deploy, waiting up to `timeoutMs` until its approval gate is open
 * (the required roles are known once the worker has loaded the environment's policy).
 */
export async function waitForRequiredApprovals(
  handle: WorkflowHandle,
  timeoutMs: number,
): Promise<ApprovalState | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const state = await Promise.race([
      handle.query(approvalsQuery).catch(() => undefined),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
      }),
    ]).finally(() => clearTimeout(timer));
    if (state?.required.length) return state;
    const { status } = await handle.describe().catch(() => ({ status: { name: 'UNKNOWN' } }));
    if (status.name !== 'RUNNING' && status.name !== 'UNKNOWN') return state;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return undefined;
}
