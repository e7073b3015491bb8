/**
 * The environment lease: one long-lived workflow per environment (`pgshift-lease-<env>`) that
 * lets one workflow run at a time change the environment, whatever client started that run
 * (pgshift CLI, `temporal` CLI, Web UI). It is the samples-typescript `mutex` pattern:
 *
 * - requesters reach it with signal-with-start (from the `requestEnvironmentLease` activity:
 *   workflow code cannot signal-with-start), so the first request starts it;
 * - it grants the lease to one requester at a time, in arrival order, by signalling the
 *   requester's run (`leaseGranted`); a `refuse` requester that finds it taken is sent
 *   `leaseRefused` naming the holder;
 * - the holder releases it with `leaseRelease`; a waiter that gives up withdraws the same way;
 * - while someone holds it, the holder's run is described every `holderCheckInterval` (one
 *   timer and one short activity): a holder found closed without releasing (terminated, timed
 *   out, failed, continued-as-new into another run) loses the lease to the next in line;
 * - it continues-as-new with its holder and queue when the history grows, and ends itself
 *   after `idleTimeout` without holder or requester.
 *
 * Temporal serialises the signals of one workflow id, so two requests can never both be
 * granted, and the lease survives worker restarts like any workflow.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LeaseActivities } from '../../activities/lease';
import {
  describeLeaseHolder,
  leaseGrantedSignal,
  leaseHolderQuery,
  leaseLastReleaseQuery,
  leaseQueueQuery,
  leaseRefusedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  type EnvironmentLeaseInput,
  type EnvironmentLeaseResult,
  type LeaseGrant,
  type LeaseRefusal,
  type LeaseRelease,
  type LeaseRequest,
} from './definitions';

const DEFAULT_HOLDER_CHECK_INTERVAL = '1m';
const DEFAULT_IDLE_TIMEOUT = '10m';
const DEFAULT_MAX_HISTORY_EVENTS = 2000;

const { leaseHolderStatus } = proxyActivities<LeaseActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

const sameRun = (
  a: { workflowId: string; runId: string },
  b: { workflowId: string; runId: string },
) => a.workflowId === b.workflowId && a.runId === b.runId;

export async function environmentLease(
  input: EnvironmentLeaseInput,
): Promise<EnvironmentLeaseResult> {
  const { environment } = input;
  let holder: LeaseGrant | undefined = input.holder;
  const queue: LeaseRequest[] = [...(input.queue ?? [])];
  let lastRelease: LeaseRelease | undefined = input.lastRelease;
  /** Signals owed to requesters (refusals, repeated grants), sent by the main loop. */
  const outbox: Array<{ to: LeaseRequest; refusal?: LeaseRefusal; grant?: LeaseGrant }> = [];

  const releaseHolder = (how: string) => {
    if (!holder) return;
    lastRelease = { holder, releasedAt: new Date().toISOString(), how };
    log.info(`lease on ${environment} released (${how}) by ${describeLeaseHolder(holder)}`);
    holder = undefined;
  };

  setHandler(leaseRequestSignal, (request) => {
    if (holder && sameRun(holder, request)) {
      // The holder asks again (a retried activity, or a second acquire of the same run): it
      // keeps the lease and is told so again under the request id it now waits for.
      holder = { ...holder, requestId: request.requestId, purpose: request.purpose };
      outbox.push({ to: request, grant: holder });
      return;
    }
    if (queue.some((waiting) => waiting.requestId === request.requestId)) return;
    const ahead = holder ?? queue[0];
    if (request.wait === 'refuse' && ahead) {
      outbox.push({
        to: request,
        refusal: { requestId: request.requestId, environment, holder: ahead },
      });
      return;
    }
    queue.push(request);
  });

  setHandler(leaseReleaseSignal, (release) => {
    // By run: a waiter that gave up just as the grant crossed its withdrawal lets go too.
    if (holder && sameRun(holder, release)) {
      releaseHolder('released');
      return;
    }
    const index = queue.findIndex((waiting) => waiting.requestId === release.requestId);
    if (index >= 0) queue.splice(index, 1);
  });

  setHandler(leaseHolderQuery, () => holder ?? null);
  setHandler(leaseQueueQuery, () => queue);
  setHandler(leaseLastReleaseQuery, () => lastRelease ?? null);

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;

  /** Signals a requester's run; false when that run no longer exists or has closed. */
  const signalRequester = async (
    to: LeaseRequest,
    send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>,
  ): Promise<boolean> => {
    try {
      await send(getExternalWorkflowHandle(to.workflowId, to.runId));
      return true;
    } catch (error) {
      log.warn(`cannot signal ${to.workflowId} (${to.runId}): ${(error as Error).message}`);
      return false;
    }
  };

  for (;;) {
    while (outbox.length) {
      const { to, refusal, grant } = outbox.shift()!;
      if (refusal) await signalRequester(to, (h) => h.signal(leaseRefusedSignal, refusal));
      if (grant) await signalRequester(to, (h) => h.signal(leaseGrantedSignal, grant));
    }
    if (shouldContinueAsNew()) {
      // Handlers are synchronous, so nothing is half done; queued signals carry over.
      await continueAsNew<typeof environmentLease>({
        ...input,
        holder,
        queue,
        lastRelease,
      });
    }

    if (!holder) {
      const next = queue.shift();
      if (next) {
        const grant: LeaseGrant = { ...next, environment, grantedAt: new Date().toISOString() };
        holder = grant;
        log.info(`lease on ${environment} granted to ${describeLeaseHolder(grant)}`);
        if (!(await signalRequester(next, (h) => h.signal(leaseGrantedSignal, grant))))
          releaseHolder('gone before the grant');
        continue;
      }
      const woken = await condition(
        () =>
          queue.length > 0 || outbox.length > 0 || holder !== undefined || shouldContinueAsNew(),
        input.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
      );
      if (!woken && !queue.length && !outbox.length && !holder && !shouldContinueAsNew())
        return { environment, lastRelease: lastRelease ?? null };
      continue;
    }

    const current = holder;
    const changed = await condition(
      () => holder !== current || outbox.length > 0 || shouldContinueAsNew(),
      input.holderCheckInterval ?? DEFAULT_HOLDER_CHECK_INTERVAL,
    );
    if (changed || holder !== current) continue;
    try {
      const status = await leaseHolderStatus({
        workflowId: current.workflowId,
        runId: current.runId,
      });
      if (!status.running && holder === current) releaseHolder(status.status);
    } catch (error) {
      // Unknown is not closed: keep the holder and look again at the next check.
      log.warn(
        `cannot describe the lease holder ${current.workflowId}: ${(error as Error).message}`,
      );
    }
  }
}
