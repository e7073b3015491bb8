import { Context } from '@temporalio/activity';
import { withClient } from '../src/migrations/database';
import { migrateDown, migrateUp } from '../src/migrations/runner';
import { readStatus } from '../src/migrations/status';
import { describeDrift } from '../src/migrations/drift';
import type { MigrationPlan, RunResult } from '../src/migrations/types';
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

/** Heartbeat details while migrating: the worker that resumes can show where it was. */
function progressHeartbeat() {
  const context = Context.current();
  return (event: { phase: string; version: number; name: string; index: number; total: number }) =>
    context.heartbeat({ ...event });
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
          const run = await migrateUp(client, input.plan, {
            ...runnerOptionsFor(deps, input.environment, input.appliedBy),
            to: input.to,
            onProgress: progressHeartbeat(),
          });
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
          const run = await migrateDown(client, input.plan, input.target, {
            ...runnerOptionsFor(deps, input.environment, input.appliedBy),
            onProgress: progressHeartbeat(),
          });
          return summarise(input.environment, run);
        });
      });
    },
  };
}
