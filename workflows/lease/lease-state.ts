import { log } from '@temporalio/workflow';
import {
  describeLeaseHolder,
  type EnvironmentLeaseInput,
  type LeaseGrant,
  type LeaseRefusal,
  type LeaseRelease,
  type LeaseReleaseRequest,
  type LeaseRequest,
} from './definitions';

/** A signal owed to a requester (a refusal, a repeated grant), sent by the lease's main loop. */
export interface OwedSignal {
  to: LeaseRequest;
  refusal?: LeaseRefusal;
  grant?: LeaseGrant;
}

const sameRun = (
  a: { workflowId: string; runId: string },
  b: { workflowId: string; runId: string },
) => a.workflowId === b.workflowId && a.runId === b.runId;

/**
 * The lease's state machine: who holds it, who waits in line, how the last holder let go, and
 * the signals owed to requesters. Its transitions are synchronous (signal handlers and the
 * main loop call them), so nothing is ever half done; the workflow sends what it owes.
 */
export class LeaseState {
  holder: LeaseGrant | undefined;
  readonly queue: LeaseRequest[];
  lastRelease: LeaseRelease | undefined;
  readonly outbox: OwedSignal[] = [];

  constructor(
    readonly environment: string,
    carried: Pick<EnvironmentLeaseInput, 'holder' | 'queue' | 'lastRelease'>,
  ) {
    this.holder = carried.holder;
    this.queue = [...(carried.queue ?? [])];
    this.lastRelease = carried.lastRelease;
  }

  /** What continue-as-new carries over. */
  get carried(): Pick<EnvironmentLeaseInput, 'holder' | 'queue' | 'lastRelease'> {
    return { holder: this.holder, queue: this.queue, lastRelease: this.lastRelease };
  }

  /** Nobody holds it, waits for it, or is owed a signal. */
  get idle(): boolean {
    return !this.queue.length && !this.outbox.length && !this.holder;
  }

  /** `leaseRequest`: queue up; the holder asking again keeps it; a `refuse` requester is refused. */
  request(request: LeaseRequest): void {
    const { holder } = this;
    if (holder && sameRun(holder, request)) {
      // The holder asks again (a retried activity, or a second acquire of the same run): it
      // keeps the lease and is told so again under the request id it now waits for.
      this.holder = { ...holder, requestId: request.requestId, purpose: request.purpose };
      this.outbox.push({ to: request, grant: this.holder });
      return;
    }
    if (this.queue.some((waiting) => waiting.requestId === request.requestId)) return;
    const ahead = holder ?? this.queue[0];
    if (request.wait === 'refuse' && ahead) {
      this.outbox.push({
        to: request,
        refusal: { requestId: request.requestId, environment: this.environment, holder: ahead },
      });
      return;
    }
    this.queue.push(request);
  }

  /** `leaseRelease`: the holder lets go, or a waiter withdraws. */
  release(release: LeaseReleaseRequest): void {
    // By run: a waiter that gave up just as the grant crossed its withdrawal lets go too.
    if (this.holder && sameRun(this.holder, release)) {
      this.releaseHolder('released');
      return;
    }
    const index = this.queue.findIndex((waiting) => waiting.requestId === release.requestId);
    if (index >= 0) this.queue.splice(index, 1);
  }

  /** The holder loses the lease (`how`: released, or the status its run was found closed in). */
  releaseHolder(how: string): void {
    const { holder } = this;
    if (!holder) return;
    this.lastRelease = { holder, releasedAt: new Date().toISOString(), how };
    log.info(`lease on ${this.environment} released (${how}) by ${describeLeaseHolder(holder)}`);
    this.holder = undefined;
  }

  /** The first in line becomes the holder; undefined when nobody waits. */
  grantNext(): { request: LeaseRequest; grant: LeaseGrant } | undefined {
    const next = this.queue.shift();
    if (!next) return undefined;
    const grant: LeaseGrant = {
      ...next,
      environment: this.environment,
      grantedAt: new Date().toISOString(),
    };
    this.holder = grant;
    log.info(`lease on ${this.environment} granted to ${describeLeaseHolder(grant)}`);
    return { request: next, grant };
  }
}
