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
 * Its state machine is in lease-state.ts; this file is the handlers and the main loop.
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
  leaseGrantedSignal,
  leaseHolderQuery,
  leaseLastReleaseQuery,
  leaseQueueQuery,
  leaseRefusedSignal,
  leaseReleaseSignal,
  leaseRequestSignal,
  type EnvironmentLeaseInput,
  type EnvironmentLeaseResult,
  type LeaseRequest,
} from './definitions';
import { LeaseState } from './lease-state';

const DEFAULT_HOLDER_CHECK_INTERVAL = '1m';
const DEFAULT_IDLE_TIMEOUT = '10m';
const DEFAULT_MAX_HISTORY_EVENTS = 2000;

const { leaseHolderStatus } = proxyActivities<LeaseActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});

export async function environmentLease(
  input: EnvironmentLeaseInput,
): Promise<EnvironmentLeaseResult> {
  const { environment } = input;
  const state = new LeaseState(environment, input);

  setHandler(leaseRequestSignal, (request) => state.request(request));
  setHandler(leaseReleaseSignal, (release) => state.release(release));
  setHandler(leaseHolderQuery, () => state.holder ?? null);
  setHandler(leaseQueueQuery, () => state.queue);
  setHandler(leaseLastReleaseQuery, () => state.lastRelease ?? null);

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;

  for (;;) {
    while (state.outbox.length) {
      const { to, refusal, grant } = state.outbox.shift()!;
      if (refusal) await signalRequester(to, (h) => h.signal(leaseRefusedSignal, refusal));
      if (grant) await signalRequester(to, (h) => h.signal(leaseGrantedSignal, grant));
    }
    if (shouldContinueAsNew()) {
      // Handlers are synchronous, so nothing is half done; queued signals carry over.
      await continueAsNew<typeof environmentLease>({ ...input, ...state.carried });
    }

    if (!state.holder) {
      const next = state.grantNext();
      if (next) {
        const { request, grant } = next;
        if (!(await signalRequester(request, (h) => h.signal(leaseGrantedSignal, grant))))
          state.releaseHolder('gone before the grant');
        continue;
      }
      const woken = await condition(
        () => !state.idle || shouldContinueAsNew(),
        input.idleTimeout ?? DEFAULT_IDLE_TIMEOUT,
      );
      if (!woken && state.idle && !shouldContinueAsNew())
        return { environment, lastRelease: state.lastRelease ?? null };
      continue;
    }

    const current = state.holder;
    const changed = await condition(
      () => state.holder !== current || state.outbox.length > 0 || shouldContinueAsNew(),
      input.holderCheckInterval ?? DEFAULT_HOLDER_CHECK_INTERVAL,
    );
    if (changed || state.holder !== current) continue;
    try {
      const status = await leaseHolderStatus({
        workflowId: current.workflowId,
        runId: current.runId,
      });
      if (!status.running && state.holder === current) state.releaseHolder(status.status);
    } catch (error) {
      // Unknown is not closed: keep the holder and look again at the next check.
      log.warn(
        `cannot describe the lease holder ${current.workflowId}: ${(error as Error).message}`,
      );
    }
  }
}

/** Signals a requester's run; false when that run no longer exists or has closed. */
async function signalRequester(
  to: LeaseRequest,
  send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>,
): Promise<boolean> {
  try {
    await send(getExternalWorkflowHandle(to.workflowId, to.runId));
    return true;
  } catch (error) {
    log.warn(`cannot signal ${to.workflowId} (${to.runId}): ${(error as Error).message}`);
    return false;
  }
}
