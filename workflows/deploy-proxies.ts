import { proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';

type Activities = ReturnType<typeof createActivities>;

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
    nonRetryableErrorTypes: ['ConfigError', 'UsageError'],
  },
});
