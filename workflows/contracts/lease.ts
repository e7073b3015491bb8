/**
 * The vocabulary of the environment lease: its workflow id, the signals between the lease
 * workflow and the workflows that hold or wait for it, and the queries clients read. Shared by
 * the lease workflow, the workflow-side `EnvironmentLease` helper, the lease activities and the
 * CLI, so it imports only `@temporalio/workflow` (definitions are plain names) and types.
 * Nothing here carries a credential: environments travel by name.
 */
import type { Duration } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** `pgshift-lease-production`: one lease workflow per environment. */
export function leaseWorkflowId(environment: string): string {
  return `pgshift-lease-${environment}`;
}

/** Patch: rehearsal, deploy and emergency rollback hold the environment lease while they change it. */
export const ENVIRONMENT_LEASE_PATCH = 'environment-lease';

/** The workflow type of the lease (exported by workflows/index). */
export const LEASE_WORKFLOW_TYPE = 'environmentLease';

/** What a requester does when the lease is held: queue up, or be refused at once. */
export type LeaseWaitMode = 'wait' | 'refuse';

/** One requester of the lease: the workflow run that will hold it and why. */
export interface LeaseRequest {
  /** Unique per acquire call (a workflow `uuid4()`): matches grants, refusals and releases. */
  requestId: string;
  workflowId: string;
  runId: string;
  /** `productionDeploy`, `emergencyRollback`, `stagingRehearsal`, … */
  kind: string;
  /** Who started the requesting run (a name, never a credential). */
  initiator: string;
  /** One line: what the holder does with the environment. */
  purpose: string;
  wait: LeaseWaitMode;
  /** ISO time of the request (workflow time of the requester). */
  requestedAt: string;
}

/** The lease as granted: the request plus when it was granted. */
export interface LeaseGrant extends LeaseRequest {
  environment: string;
  grantedAt: string;
}

/** Sent to a `refuse` requester while someone else holds (or is next in line for) the lease. */
export interface LeaseRefusal {
  requestId: string;
  environment: string;
  /** The holder, or the first in the queue when the lease is between two holders. */
  holder: LeaseGrant | LeaseRequest;
}

/** Sent by a holder when it is done, or by a waiter that gives up (timeout, cancellation). */
export interface LeaseReleaseRequest {
  requestId: string;
  workflowId: string;
  runId: string;
}

/** How the last holder let go: by itself, or found closed by the lease's holder check. */
export interface LeaseRelease {
  holder: LeaseGrant;
  releasedAt: string;
  /** `released` or the holder's closed status (`TERMINATED`, `TIMED_OUT`, …). */
  how: string;
}

/** The lease workflow's input; carried over continue-as-new with its holder and queue. */
export interface EnvironmentLeaseInput {
  environment: string;
  /** How often a holder's run is described to find it closed without releasing; default 1m. */
  holderCheckInterval?: Duration;
  /** The lease workflow ends after this long without holder or requester; default 10m. */
  idleTimeout?: Duration;
  /** Continue-as-new once the history has this many events (or the server suggests it); default 2000. */
  maxHistoryEvents?: number;
  holder?: LeaseGrant;
  queue?: LeaseRequest[];
  lastRelease?: LeaseRelease;
}

/** What the lease workflow returns when it ends itself (idle). */
export interface EnvironmentLeaseResult {
  environment: string;
  lastRelease: LeaseRelease | null;
}

/** Requester → lease (through signal-with-start). */
export const leaseRequestSignal = defineSignal<[LeaseRequest]>('leaseRequest');
/** Holder or waiter → lease. */
export const leaseReleaseSignal = defineSignal<[LeaseReleaseRequest]>('leaseRelease');
/** Lease → requester: you hold the lease now. */
export const leaseGrantedSignal = defineSignal<[LeaseGrant]>('leaseGranted');
/** Lease → `refuse` requester: someone else holds it. */
export const leaseRefusedSignal = defineSignal<[LeaseRefusal]>('leaseRefused');

/** The current holder, or null. */
export const leaseHolderQuery = defineQuery<LeaseGrant | null>('leaseHolder');
/** The requesters waiting, first in line first. */
export const leaseQueueQuery = defineQuery<LeaseRequest[]>('leaseQueue');
/** How the last holder let go, or null. */
export const leaseLastReleaseQuery = defineQuery<LeaseRelease | null>('leaseLastRelease');

/** `productionDeploy deploy-production-3f2a… (alice) since 2026-12-01T14:00:00.000Z: apply 3 migrations`. */
export function describeLeaseHolder(holder: LeaseGrant | LeaseRequest): string {
  const since = 'grantedAt' in holder ? ` since ${holder.grantedAt}` : ' (next in line)';
  return `${holder.kind} ${holder.workflowId} (${holder.initiator})${since}${holder.purpose ? `: ${holder.purpose}` : ''}`;
}
