import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors, ActivityInterceptorsFactory } from '@temporalio/worker';
import { pgshiftMetrics, type PgshiftMetrics } from './metrics';

/** Activities that undo something, by the kind of rollback they are. */
const ROLLBACK_KINDS: Record<string, string> = {
  revertMigrations: 'migration',
  restoreDatabase: 'restore',
  rollbackApplication: 'application',
};

function outcomeOf(error: unknown): 'failure' | 'cancelled' {
  const name = (error as { name?: string })?.name ?? '';
  return /Cancel/i.test(name) ? 'cancelled' : 'failure';
}

/**
 * Worker `interceptors.activity` factory: logs each step's start and end (the SDK adds the
 * workflow id, activity type and attempt to every line) and feeds the guide's critical
 * metrics: every attempt's outcome and duration, migration runs and rollbacks by outcome.
 */
export function activityMetricsInterceptor(
  metrics: PgshiftMetrics = pgshiftMetrics,
): ActivityInterceptorsFactory {
  return (ctx: Context): ActivityInterceptors => ({
    inbound: {
      async execute(input, next) {
        const activity = ctx.info.activityType;
        const started = performance.now();
        ctx.log.info(`step started: ${activity}`, { step: activity });
        let outcome: 'success' | 'failure' | 'cancelled' = 'success';
        let result: unknown;
        try {
          result = await next(input);
          // Hooks report a failure as a result ({ ok: false }), not an exception.
          if ((result as { ok?: unknown } | undefined)?.ok === false) outcome = 'failure';
          return result;
        } catch (error) {
          outcome = outcomeOf(error);
          throw error;
        } finally {
          const seconds = (performance.now() - started) / 1000;
          metrics.activities.inc({ activity, outcome });
          metrics.activityDuration.observe({ activity }, seconds);
          if (activity === 'applyMigrations' && outcome !== 'cancelled')
            metrics.migrations.inc({ outcome });
          const rollbackKind = ROLLBACK_KINDS[activity];
          const didNothing = (result as { ran?: unknown } | undefined)?.ran === false;
          if (rollbackKind && outcome !== 'cancelled' && !didNothing)
            metrics.recordRollback(rollbackKind, outcome);
          const meta = { step: activity, outcome, durationMs: Math.round(seconds * 1000) };
          if (outcome === 'success') ctx.log.info(`step completed: ${activity}`, meta);
          else
            ctx.log.warn(
              `step ${outcome === 'failure' ? 'failed' : 'cancelled'}: ${activity}`,
              meta,
            );
        }
      },
    },
  });
}
