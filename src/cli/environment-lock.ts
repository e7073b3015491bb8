import type { Client } from '@temporalio/client';
import { errorClass, UsageError } from '../errors';
import { ENVIRONMENT_NAME } from '../config/schema';
import { webUiLink } from '../temporal/connection';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftPhase,
  PgshiftWorkflowKind,
} from '../temporal/search-attribute-keys';
import { environmentLockId } from '../../workflows/definitions';
import {
  describeLeaseHolder,
  leaseHolderQuery,
  leaseQueueQuery,
  leaseWorkflowId,
  type LeaseGrant,
} from '../../workflows/lease/definitions';
import { startPgshiftWorkflow, type StartRequest } from './workflow-runs';

/**
 * Friendly early messages only. The guarantee that one workflow at a time changes an
 * environment is the environment lease (`pgshift-lease-<env>`, workflows/lease) that the
 * rehearsal, the deploy (from its backup on) and the emergency rollback hold inside their
 * workflows, whatever client started them. Here the CLI refuses early, naming what runs:
 * - the lease's holder, when a lease workflow answers;
 * - otherwise the visibility API's running pgshift workflows of the environment (search
 *   attributes PgshiftEnvironment + ExecutionStatus);
 * - a rollback also starts under the environment's lock id (`pgshift-lock-<env>`), so Temporal
 *   refuses a second start of a running rollback.
 */
/** A running pgshift workflow of an environment, as the visibility API lists it. */
export interface ActiveWorkflow {
  workflowId: string;
  runId: string;
  kind: string;
  phase?: string;
  initiator?: string;
  startTime: string;
}

/** Refused because another deploy or rollback acts on the environment. Exit code 1. */
export class EnvironmentBusyError extends errorClass('EnvironmentBusy', 1) {
  /** `why`: what holds the environment, and the rule; the message adds what to do about it. */
  constructor(
    readonly environment: string,
    readonly running: ActiveWorkflow[],
    why: string,
  ) {
    super(
      `${environment} is busy: ${why}: follow it with \`pgshift watch ${running[0].workflowId}\`, wait for it to end, or cancel it first`,
    );
  }
}

function assertEnvironmentName(environment: string): void {
  if (!ENVIRONMENT_NAME.test(environment))
    throw new UsageError(
      `invalid environment name ${JSON.stringify(environment)}: use letters, digits, - and _ (e.g. "production")`,
    );
}

/** Running pgshift workflows (rehearsals, deploys, rollbacks) of `environment`, newest first. */
export async function listActiveWorkflows(
  client: Client,
  environment: string,
): Promise<ActiveWorkflow[]> {
  assertEnvironmentName(environment);
  const found: ActiveWorkflow[] = [];
  const query = `${PgshiftEnvironment.name} = "${environment}" AND ExecutionStatus = "Running"`;
  for await (const info of client.workflow.list({ query })) {
    const attributes = info.typedSearchAttributes;
    found.push({
      workflowId: info.workflowId,
      runId: info.runId,
      kind: attributes.get(PgshiftWorkflowKind) ?? info.type,
      phase: attributes.get(PgshiftPhase),
      initiator: attributes.get(PgshiftInitiator),
      startTime: info.startTime.toISOString(),
    });
  }
  return found.sort((a, b) => b.startTime.localeCompare(a.startTime));
}

/**
 * True when the workflow may change the environment now. A deploy still waiting for its
 * approvals (phase naming approvals) has touched nothing, so an emergency rollback may go
 * ahead of it; the archive of a database kept by a rollback works on that kept copy only.
 */
export function actsOnEnvironment(workflow: ActiveWorkflow): boolean {
  if (workflow.kind === 'archivePreservedDatabase') return false;
  return !(workflow.kind === 'productionDeploy' && /approv/i.test(workflow.phase ?? ''));
}

/** `emergencyRollback pgshift-lock-production (phase approval, started by carol at …)`. */
export function describeActive(workflow: ActiveWorkflow): string {
  return `${workflow.kind} ${workflow.workflowId} (phase ${workflow.phase ?? 'unknown'}, started by ${workflow.initiator ?? 'unknown'} at ${workflow.startTime}; Web UI: ${webUiLink(workflow.workflowId, workflow.runId)})`;
}

function busyError(environment: string, running: ActiveWorkflow[]): EnvironmentBusyError {
  return new EnvironmentBusyError(
    environment,
    running,
    `${running.map(describeActive).join('; ')} is running. Only one rollback or deploy may act on an environment at a time`,
  );
}

const LEASE_QUERY_TIMEOUT_MS = 5000;

/**
 * The holder of the environment's lease and how many wait behind it, when a lease workflow
 * runs and answers within a few seconds; undefined otherwise (the caller falls back).
 */
export async function queryLeaseHolder(
  client: Client,
  environment: string,
): Promise<{ holder: LeaseGrant | null; waiting: number } | undefined> {
  assertEnvironmentName(environment);
  const handle = client.workflow.getHandle(leaseWorkflowId(environment));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), LEASE_QUERY_TIMEOUT_MS);
  });
  const ask = async () => {
    const description = await handle.describe();
    if (description.status.name !== 'RUNNING') return undefined;
    const [holder, queue] = await Promise.all([
      handle.query(leaseHolderQuery),
      handle.query(leaseQueueQuery),
    ]);
    return { holder, waiting: queue.length };
  };
  try {
    return await Promise.race([ask().catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function leaseBusyError(
  environment: string,
  holder: LeaseGrant,
  waiting: number,
): EnvironmentBusyError {
  return new EnvironmentBusyError(
    environment,
    [
      {
        workflowId: holder.workflowId,
        runId: holder.runId,
        kind: holder.kind,
        phase: 'holds the lease',
        initiator: holder.initiator,
        startTime: holder.grantedAt,
      },
    ],
    `its lease is held by ${describeLeaseHolder(holder)}${
      waiting ? ` (${waiting} more waiting)` : ''
    }; Web UI: ${webUiLink(holder.workflowId, holder.runId)}. Only one workflow at a time may change an environment`,
  );
}

/**
 * Throws EnvironmentBusyError when a deploy or rollback (other than `except`) acts on
 * `environment`: the lease's holder when a lease workflow answers, else what the visibility
 * API lists. Only a friendly early message: the lease inside the workflows is the guarantee.
 */
export async function assertEnvironmentFree(
  client: Client,
  environment: string,
  options: { except?: string[] } = {},
): Promise<void> {
  const lease = await queryLeaseHolder(client, environment);
  if (lease?.holder && !(options.except ?? []).includes(lease.holder.workflowId))
    throw leaseBusyError(environment, lease.holder, lease.waiting);
  const running = (await listActiveWorkflows(client, environment)).filter(
    (w) => actsOnEnvironment(w) && !(options.except ?? []).includes(w.workflowId),
  );
  if (running.length) throw busyError(environment, running);
}

/**
 * Starts a workflow that acts on an environment under the environment's lock id, after
 * checking that no deploy or rollback runs there. A concurrent second start is refused by
 * Temporal itself (same running workflow id) and reported as EnvironmentBusyError.
 */
export async function startWithEnvironmentLock(
  client: Client,
  request: Omit<StartRequest, 'workflowId'>,
): ReturnType<typeof startPgshiftWorkflow> {
  const workflowId = environmentLockId(request.environment);
  await assertEnvironmentFree(client, request.environment);
  try {
    return await startPgshiftWorkflow(client, { ...request, workflowId });
  } catch (error) {
    const holder = await client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    if (holder?.status.name === 'RUNNING')
      throw busyError(request.environment, [
        {
          workflowId,
          runId: holder.runId,
          kind: holder.typedSearchAttributes.get(PgshiftWorkflowKind) ?? holder.type,
          phase: holder.typedSearchAttributes.get(PgshiftPhase),
          initiator: holder.typedSearchAttributes.get(PgshiftInitiator),
          startTime: holder.startTime.toISOString(),
        },
      ]);
    throw error;
  }
}
