import { activityInfo } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  LEASE_WORKFLOW_TYPE,
  leaseHolderQuery,
  leaseRequestSignal,
  leaseWorkflowId,
  type EnvironmentLeaseInput,
  type LeaseGrant,
  type LeaseRequest,
} from '../workflows/lease/definitions';
import { lazyTemporalClient, type TemporalClientSource } from './temporal-client';

/** What the lease activities need: a Temporal client, given or made from TEMPORAL_* on first use. */
export interface LeaseActivityDeps {
  /** A client on the worker's server and namespace; default: `connectClient()` (TEMPORAL_* settings). */
  client?: TemporalClientSource;
}

export interface RequestLeaseInput {
  request: LeaseRequest;
  /** Only used when this request starts the lease workflow. */
  lease: EnvironmentLeaseInput;
}

export interface RequestLeaseResult {
  leaseWorkflowId: string;
  /** The holder when the request was made (best effort: null when none or unknown). */
  holder: LeaseGrant | null;
}

export interface LeaseHolderStatus {
  running: boolean;
  /** `RUNNING`, `COMPLETED`, `TERMINATED`, `CONTINUED_AS_NEW`, … or `NOT_FOUND`. */
  status: string;
}

/**
 * The activities of the environment lease (workflows/lease): signal-with-start of the lease
 * workflow for a requester, and the description of a holder's run for the lease's holder check.
 * Both are idempotent: a retried request carries the same request id and the lease ignores it.
 */
export function createLeaseActivities(deps: LeaseActivityDeps = {}) {
  const temporal = lazyTemporalClient(deps.client);

  return {
    /** Signal-with-start of `pgshift-lease-<env>` on the requester's task queue. */
    async requestEnvironmentLease(input: RequestLeaseInput): Promise<RequestLeaseResult> {
      const c = await temporal();
      const workflowId = leaseWorkflowId(input.lease.environment);
      const handle = await c.workflow.signalWithStart(LEASE_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: activityInfo().taskQueue,
        args: [input.lease],
        signal: leaseRequestSignal,
        signalArgs: [input.request],
        staticSummary: `Environment lease of ${input.lease.environment}`,
        staticDetails:
          'One workflow at a time changes this environment. Queries: `leaseHolder`, `leaseQueue`, `leaseLastRelease`.',
      });
      const holder = await handle.query(leaseHolderQuery).catch(() => null);
      return { leaseWorkflowId: workflowId, holder };
    },

    /** Whether the run holding a lease is still running (its exact run: a continued-as-new run is closed). */
    async leaseHolderStatus(run: {
      workflowId: string;
      runId: string;
    }): Promise<LeaseHolderStatus> {
      const c = await temporal();
      try {
        const description = await c.workflow.getHandle(run.workflowId, run.runId).describe();
        const status = description.status.name;
        return { running: status === 'RUNNING', status };
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return { running: false, status: 'NOT_FOUND' };
        throw error;
      }
    },
  };
}

export type LeaseActivities = ReturnType<typeof createLeaseActivities>;
