import { Context } from '@temporalio/activity';
import { withClient } from '../src/migrations/database';
import { migrateDown, migrateUp } from '../src/migrations/runner';
import { readStatus } from '../src/migrations/status';
import { describeDrift } from '../src/migrations/drift';
import { LockWaitTimeoutError } from '../src/migrations/errors';
import type {
  LockWaitInfo,
  MigrationPlan,
  RunResult,
  RunnerOptions,
} from '../src/migrations/types';
import { pgshiftMetrics } from '../src/temporal/metrics';
import { asActivity, databaseUrlOf, runnerOptionsFor, type ActivityDeps } from './deps';
import { assertPlanIntegrity } from './plan';

export interface MigrationState {
  environment: string;
  currentVersion: number;
  appliedCount: number;
  pending: number[];
  drift: string[];
  missingFiles: number[];
}

export interface RunSummary {
  environment: string;
  direction: 'up' | 'down';
  fromVersion: number;
  toVersion: number;
  applied: { version: number; name: string; durationMs: number }[];
  failed?: { version: number; name: string; error: string };
}

function summarise(environment: string, run: RunResult): RunSummary {
  const failed = run.results.find((r) => r.status === 'Error');
  return {
    environment,
    direction: run.direction,
    fromVersion: run.fromVersion,
    toVersion: run.toVersion,
    applied: run.results
      .filter((r) => r.status === 'Success')
      .map((r) => ({ version: r.version, name: r.name, durationMs: r.durationMs })),
    ...(failed
      ? { failed: { version: failed.version, name: failed.name, error: failed.error ?? '' } }
      : {}),
  };
}

/**
 * Heartbeat details while migrating (the worker that resumes can show where it was), and
 * while a migration waits for other sessions' locks: heartbeat details name the blockers
 * (`pgshift watch` and the Web UI's pending activity show them), metrics count the wait.
 */
function lockWaitReporter() {
  const context = Context.current();
  let progress: Record<string, unknown> = {};
  let last: LockWaitInfo | undefined;
  return {
    onProgress(event: Parameters<NonNullable<RunnerOptions['onProgress']>>[0]) {
      progress = { ...event };
      last = undefined;
      context.heartbeat(progress);
    },
    onLockWait(info: LockWaitInfo) {
      last = info;
      context.heartbeat({
        ...progress,
        lockWait: { ...info, blockers: info.blockers.slice(0, 3) },
      });
    },
    /** Feeds the lock-wait metrics from a finished run (or the wait that failed it). */
    record(run: RunResult | undefined, error?: unknown) {
      for (const r of run?.results ?? [])
        if (r.lockWait) pgshiftMetrics.recordLockWait(r.lockWait.waitedMs, r.lockWait.attempts);
      if (error instanceof LockWaitTimeoutError && last)
        pgshiftMetrics.recordLockWait(last.waitingForMs, last.attempts, true);
    },
  };
}

async function reportingLockWaits(
  work: (reporter: ReturnType<typeof lockWaitReporter>) => Promise<RunResult>,
): Promise<RunResult> {
  const reporter = lockWaitReporter();
  try {
    const run = await work(reporter);
    reporter.record(run);
    return run;
  } catch (error) {
    reporter.record((error as { runResult?: RunResult }).runResult, error);
    throw error;
  }
}

export function createMigrateActivities(deps: ActivityDeps) {
  return {
    async readMigrationState(input: {
      environment: string;
      plan: MigrationPlan;
    }): Promise<MigrationState> {
      return asActivity(() =>
        withClient(databaseUrlOf(deps, input.environment), async (client) => {
          const status = await readStatus(client, input.plan);
          return {
            environment: input.environment,
            currentVersion: status.currentVersion,
            appliedCount: status.applied.length,
            pending: status.pending.map((p) => p.version),
            drift: describeDrift(status),
            missingFiles: status.missingFiles,
          };
        }),
      );
    },

    /**
     * Applies pending migrations (up to `to`). Idempotent: the ledger and the advisory lock
     * make a retry after a crash continue where the first attempt stopped.
     */
    async applyMigrations(input: {
      environment: string;
      plan: MigrationPlan;
      to?: number;
      appliedBy?: string;
    }): Promise<RunSummary> {
      return asActivity(async () => {
        assertPlanIntegrity(input.plan);
        return withClient(databaseUrlOf(deps, input.environment), async (client) => {
          const run = await reportingLockWaits((reporter) =>
            migrateUp(client, input.plan, {
              ...runnerOptionsFor(deps, input.environment, input.appliedBy),
              to: input.to,
              onProgress: reporter.onProgress,
              onLockWait: reporter.onLockWait,
            }),
          );
          return summarise(input.environment, run);
        });
      });
    },

    /** Rolls back to `target` (kept applied) with the rollback files. Idempotent like applyMigrations. */
    async revertMigrations(input: {
      environment: string;
      plan: MigrationPlan;
      target: number;
      appliedBy?: string;
    }): Promise<RunSummary> {
      return asActivity(async () => {
        assertPlanIntegrity(input.plan);
        return withClient(databaseUrlOf(deps, input.environment), async (client) => {
          const run = await reportingLockWaits((reporter) =>
            migrateDown(client, input.plan, input.target, {
              ...runnerOptionsFor(deps, input.environment, input.appliedBy),
              onProgress: reporter.onProgress,
              onLockWait: reporter.onLockWait,
            }),
          );
          return summarise(input.environment, run);
        });
      });
    },
  };
}
