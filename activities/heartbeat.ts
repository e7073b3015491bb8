import { Context } from '@temporalio/activity';

/** Longest gap between two heartbeats when the activity has no heartbeat timeout. */
const MAX_INTERVAL_MS = 10_000;
const MIN_INTERVAL_MS = 100;

/** What a heartbeating activity body can do while it runs. */
export interface Heartbeat {
  /** Replaces the details sent with every heartbeat (the latest progress) and sends them now. */
  update(details: unknown): void;
  /** Aborted when Temporal cancels the activity (learnt through a heartbeat). */
  signal: AbortSignal;
  /** Details the previous attempt of this activity last heartbeated, if any. */
  previous: unknown;
}

/** How often to heartbeat: a third of the heartbeat timeout, at most every 10 s. */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs || heartbeatTimeoutMs <= 0) return MAX_INTERVAL_MS;
  return Math.max(MIN_INTERVAL_MS, Math.min(Math.floor(heartbeatTimeoutMs / 3), MAX_INTERVAL_MS));
}

/**
 * Runs `work` while heartbeating on a timer with the latest details, however long a single
 * step of it (one SQL statement, one pg_dump) takes: Temporal never mistakes a long
 * statement for a dead worker and never starts a second attempt beside a live one. The
 * timer stops when the work ends, whichever way. Cancellation reaches `work` through
 * `signal` (each heartbeat is also how the activity learns of it).
 */
export async function withHeartbeat<T>(
  work: (heartbeat: Heartbeat) => Promise<T>,
  initialDetails?: unknown,
): Promise<T> {
  const context = Context.current();
  let details = initialDetails;
  const beat = () => context.heartbeat(details);
  const timer = setInterval(beat, heartbeatIntervalMs(context.info.heartbeatTimeoutMs));
  beat();
  try {
    return await work({
      update(next) {
        details = next;
        beat();
      },
      signal: context.cancellationSignal,
      previous: context.info.heartbeatDetails,
    });
  } finally {
    clearInterval(timer);
  }
}
