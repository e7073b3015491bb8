import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { createActivities } from '../activities';

type Activities = ReturnType<typeof createActivities>;

/*
 * Which failures are retried comes from the error classes alone: activities turn a
 * PgshiftError into an ApplicationFailure whose `nonRetryable` is the class's own
 * (activities/deps.ts toFailure), so no list of error types is kept here.
 */

/** The retries of short activities: a few, quickly, then give up. */
const SHORT_RETRY: RetryPolicy = {
  initialInterval: '1s',
  maximumInterval: '30s',
  maximumAttempts: 5,
};

/** Quick database reads, records, reports and notifications. */
export const quick = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  retry: SHORT_RETRY,
});

/**
 * Monitoring samples: one every interval, so a worker restarted during a monitoring window
 * often leaves one in transit, and a task taken by a poll the shutdown interrupted is lost
 * (nothing heartbeats it). The sample heartbeats, so such an attempt is retried after 10 s
 * instead of after the 2-minute start-to-close timeout.
 */
export const probes = proxyActivities<Activities>({
  startToCloseTimeout: '2m',
  heartbeatTimeout: '10s',
  retry: SHORT_RETRY,
});

/**
 * Long work that heartbeats (migrations, rollback tests, health windows): a dead worker is
 * noticed within the heartbeat timeout and the activity resumes on another one.
 */
export const long = proxyActivities<Activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '20s',
  retry: {
    initialInterval: '2s',
    maximumInterval: '1m',
    maximumAttempts: 10,
  },
});

/** pg_dump / pg_restore: hours for big databases, heartbeating progress. */
export const backups = proxyActivities<Activities>({
  startToCloseTimeout: '12h',
  heartbeatTimeout: '30s',
  retry: {
    initialInterval: '5s',
    maximumInterval: '2m',
    maximumAttempts: 5,
  },
});

/**
 * Application deploy and rollback hooks: their own timeout (hooks default to 120 s, longer
 * than the `quick` proxy allows) and few retries (a hook is expected to be idempotent: deploy
 * version X twice leaves version X).
 */
export const appHooks = proxyActivities<Activities>({
  startToCloseTimeout: '15m',
  retry: {
    initialInterval: '2s',
    maximumInterval: '30s',
    maximumAttempts: 3,
  },
});
