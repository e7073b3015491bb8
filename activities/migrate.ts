import { Context } from '@temporalio/activity';
import type { Client as TemporalClient } from '@temporalio/client';
import type { Client } from 'pg';
import { withClient } from '../src/migrations/database';
import { readLedger } from '../src/migrations/ledger';
import { assertRollbackFilesAsApplied } from '../src/migrations/rollback-checksum';
import { migrateDown, migrateUp } from '../src/migrations/runner';
import { readStatus } from '../src/migrations/status';
import { describeDrift } from '../src/migrations/drift';
import { LockWaitTimeoutError } from '../src/migrations/errors';
import type {
  LockWaitInfo,
  MigrationPlan,
  PlanArgument,
  RunResult,
  RunnerOptions,
} from '../src/migrations/types';
import { pgshiftMetrics } from '../src/temporal/metrics';
import {
  assertSignedAuthorization,
  rolesToApply,
  signaturesEnforced,
  type AuthorizedChange,
} from './approval-keys';
import type { ActivityDeps, OnEnvironment } from './deps';
import { asActivity, databaseUrlOf, runnerOptionsFor } from './deps';
import { withHeartbeat, type Heartbeat } from './heartbeat';
import { signalLockWaits } from './lock-wait-signal';
import { assertPlanIntegrity } from './plan';
import { resolvePlan } from './plan-store';
import { refuseRehearsalOfProduction } from './tier';
import { lazyTemporalClient } from './temporal-client';

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
  /**
   * The migrations this step applied (or reverted), in order: the first APPLIED_LISTED of them
   * (a result is a summary: the history must not grow with the size of the plan).
   */
  applied: { version: number; name: string; durationMs: number }[];
  /** How many it applied in all (absent in older histories: `applied.length` then). */
  appliedCount?: number;
  failed?: { version: number; name: string; error: string };
}

/** How many applied migrations a RunSummary lists by name. */
export const APPLIED_LISTED = 50;

/** `summary` with its `applied` list cut to APPLIED_LISTED entries and the full count. */
function listedOnly(summary: RunSummary): RunSummary {
  return {
    ...summary,
    applied: summary.applied.slice(0, APPLIED_LISTED),
    appliedCount: summary.applied.length,
  };
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

/** What a migration activity heartbeats: the ledger before its first attempt, and progress. */
interface MigrationHeartbeat {
  /** Versions applied when the first attempt of this activity started. */
  before: { version: number; name: string }[];
  progress?: { phase: string; version: number; name: string; index: number; total: number };
}

/** A retry waits this long for an earlier, still running attempt to release the lock. */
const RETRY_LOCK_WAIT_MS = 15 * 60_000;

/** How often the database checks that a migrating worker is still connected (PostgreSQL 14+). */
const CONNECTION_CHECK = '2s';

/**
 * The ledger as it was when this activity's first attempt started: from the previous
 * attempt's heartbeat when there was one, else read now.
 */
async function ledgerBefore(client: Client, heartbeat: Heartbeat): Promise<MigrationHeartbeat> {
  const previous = heartbeat.previous as Partial<MigrationHeartbeat> | undefined;
  if (previous && Array.isArray(previous.before)) return { before: previous.before };
  const ledger = await readLedger(client);
  return { before: ledger.map((e) => ({ version: e.version, name: e.name })) };
}

/**
 * A migration session that dies with its worker: a killed worker's statement is cancelled
 * by the server within seconds and the migration lock passes to the retry. When the
 * activity is cancelled, the running statement is cancelled too.
 */
async function prepareSession(
  client: Client,
  url: string,
  signal: AbortSignal,
): Promise<() => void> {
  await client
    .query(`SELECT set_config('client_connection_check_interval', $1, false)`, [CONNECTION_CHECK])
    .catch(() => undefined);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0].pid;
  const cancel = () =>
    void withClient(url, (other) => other.query('SELECT pg_cancel_backend($1)', [pid])).catch(
      () => undefined,
    );
  signal.addEventListener('abort', cancel, { once: true });
  // Once the session is done with, its pid may belong to someone else: never cancel it then.
  return () => signal.removeEventListener('abort', cancel);
}

/**
 * What this activity changed, read from the ledger rather than from the last attempt's
 * run: a retry that found an earlier attempt's work done still reports it.
 */
async function summariseFromLedger(
  client: Client,
  environment: string,
  plan: MigrationPlan,
  state: MigrationHeartbeat,
  run: RunResult,
): Promise<RunSummary> {
  const ledger = await readLedger(client);
  const beforeVersions = new Set(state.before.map((e) => e.version));
  const nowVersions = new Set(ledger.map((e) => e.version));
  const names = new Map(plan.migrations.map((m) => [m.version, m.name]));
  const ranNow = new Map(
    run.results.filter((r) => r.status === 'Success').map((r) => [r.version, r.durationMs]),
  );
  const applied =
    run.direction === 'up'
      ? ledger
          .filter((e) => !beforeVersions.has(e.version))
          .map((e) => ({ version: e.version, name: e.name, durationMs: e.durationMs }))
      : state.before
          .filter((e) => !nowVersions.has(e.version))
          .sort((a, b) => b.version - a.version)
          .map((e) => ({
            version: e.version,
            name: names.get(e.version) ?? e.name,
            durationMs: ranNow.get(e.version) ?? 0,
          }));
  const summary = summarise(environment, run);
  return listedOnly({
    ...summary,
    fromVersion: Math.max(0, ...beforeVersions),
    toVersion: Math.max(0, ...nowVersions),
    applied,
  });
}

/**
 * Runs one migration direction under a timer heartbeat; the summary comes from the ledger.
 * While a migration waits for other sessions' locks, the heartbeat details and (with a
 * Temporal client) the workflow's current details, through the `lockWait` signal, say who.
 */
/**
 * The runner options of one attempt: the environment's, its progress and lock-wait reports,
 * and (on a retry that found an earlier attempt still running) a wait for the migration lock
 * at least as long as that attempt may still take.
 */
function attemptOptions<O extends { advisoryLockWaitMs: number }>(
  options: O,
  report: Pick<RunnerOptions, 'onProgress' | 'onLockWait'>,
  lockWaitMs: number | undefined,
): O & Pick<RunnerOptions, 'onProgress' | 'onLockWait'> {
  return {
    ...options,
    ...(lockWaitMs ? { advisoryLockWaitMs: Math.max(lockWaitMs, options.advisoryLockWaitMs) } : {}),
    ...report,
  };
}

async function runMigrations(
  deps: ActivityDeps,
  input: { environment: string; appliedBy?: string },
  plan: MigrationPlan,
  temporal: (() => Promise<TemporalClient>) | undefined,
  run: (client: Client, options: RunnerOptions) => Promise<RunResult>,
): Promise<RunSummary> {
  const { environment } = input;
  const url = databaseUrlOf(deps, environment);
  const options = runnerOptionsFor(deps, environment, input.appliedBy);
  return withHeartbeat(async (heartbeat) =>
    withClient(url, async (client) => {
      const release = await prepareSession(client, url, heartbeat.signal);
      const workflow = signalLockWaits(temporal);
      try {
        const state = await ledgerBefore(client, heartbeat);
        heartbeat.update(state);
        const retry = Context.current().info.attempt > 1;
        let progress: MigrationHeartbeat['progress'];
        let lastWait: LockWaitInfo | undefined;
        let result: RunResult;
        try {
          result = await run(
            client,
            attemptOptions(
              options,
              {
                onProgress: (event) => {
                  progress = event;
                  lastWait = undefined;
                  workflow.ended();
                  heartbeat.update({ ...state, progress });
                },
                // While a migration waits for other sessions' locks, the heartbeat details name
                // the blockers (`pgshift watch` and the Web UI's pending activity show them).
                onLockWait: (info) => {
                  lastWait = info;
                  workflow.waiting(info);
                  heartbeat.update({
                    ...state,
                    progress,
                    lockWait: { ...info, blockers: info.blockers.slice(0, 3) },
                  });
                },
              },
              retry ? RETRY_LOCK_WAIT_MS : undefined,
            ),
          );
        } catch (error) {
          recordLockWaits((error as { runResult?: RunResult }).runResult);
          if (error instanceof LockWaitTimeoutError && lastWait)
            pgshiftMetrics.recordLockWait(lastWait.waitingForMs, lastWait.attempts, true);
          throw error;
        }
        recordLockWaits(result);
        return await summariseFromLedger(client, environment, plan, state, result);
      } finally {
        release();
        workflow.ended();
        await workflow.settle();
      }
    }),
  );
}

/** Feeds the lock-wait metrics from a finished run. */
function recordLockWaits(run: RunResult | undefined): void {
  for (const r of run?.results ?? [])
    if (r.lockWait) pgshiftMetrics.recordLockWait(r.lockWait.waitedMs, r.lockWait.attempts);
}

/**
 * The plan an activity changes an environment with: never a rehearsal on a production tier,
 * loaded from the plan store when the workflow carries its checksum, and intact (files,
 * flags and checksum as validated).
 */
async function intactPlanFor(
  deps: ActivityDeps,
  input: { environment: string; plan: PlanArgument },
): Promise<MigrationPlan> {
  refuseRehearsalOfProduction(deps, input.environment);
  const plan = await resolvePlan(deps, input.plan);
  await assertPlanIntegrity(plan);
  return plan;
}

export function createMigrateActivities(deps: ActivityDeps) {
  // The worker gives its client; activities built without one (tests, benchmarks) signal nothing.
  const temporal = deps.client ? lazyTemporalClient(deps.client) : undefined;
  return {
    async readMigrationState(
      input: OnEnvironment<{ plan: PlanArgument }>,
    ): Promise<MigrationState> {
      return asActivity(async () => {
        refuseRehearsalOfProduction(deps, input.environment);
        const plan = await resolvePlan(deps, input.plan);
        return withClient(databaseUrlOf(deps, input.environment), async (client) => {
          const status = await readStatus(client, plan);
          return {
            environment: input.environment,
            currentVersion: status.currentVersion,
            appliedCount: status.applied.length,
            pending: status.pending.map((p) => p.version),
            drift: describeDrift(status),
            missingFiles: status.missingFiles,
          };
        });
      });
    },

    /**
     * Applies pending migrations (up to `to`). Idempotent: the ledger and the advisory lock
     * make a retry after a crash continue where the first attempt stopped.
     */
    async applyMigrations(
      input: AuthorizedChange<{
        plan: PlanArgument;
        to?: number;
        appliedBy?: string;
      }>,
    ): Promise<RunSummary> {
      return asActivity(async () => {
        const plan = await intactPlanFor(deps, input);
        if (signaturesEnforced(deps, input.environment))
          await assertSignedAuthorization(deps, input.environment, input.authorization, {
            what: 'apply migrations',
            planChecksum: plan.checksum,
            requiredRoles: await rolesToApply(deps, input.environment, plan),
          });
        return runMigrations(deps, input, plan, temporal, (client, options) =>
          migrateUp(client, plan, { ...options, to: input.to }),
        );
      });
    },

    /** Rolls back to `target` (kept applied) with the rollback files. Idempotent like applyMigrations. */
    async revertMigrations(
      input: AuthorizedChange<{
        plan: PlanArgument;
        target: number;
        appliedBy?: string;
        /**
         * The operator's explicit acceptance of rollback files that changed since their
         * migration was applied (recorded in pgshift.repairs); without it such files are refused.
         */
        acceptChangedRollback?: { reason: string; acceptedBy: string };
      }>,
    ): Promise<RunSummary> {
      return asActivity(async () => {
        const plan = await intactPlanFor(deps, input);
        await assertSignedAuthorization(deps, input.environment, input.authorization, {
          what: 'revert migrations',
          planChecksum: plan.checksum,
        });
        return runMigrations(deps, input, plan, temporal, async (client, options) => {
          await assertRollbackFilesAsApplied(
            client,
            plan,
            input.target,
            input.acceptChangedRollback,
          );
          return migrateDown(client, plan, input.target, options);
        });
      });
    },
  };
}
