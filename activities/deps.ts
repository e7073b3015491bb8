import { userInfo } from 'node:os';
import { ApplicationFailure } from '@temporalio/activity';
import {
  environmentConfig,
  resolveDatabaseUrl,
  type EnvironmentConfig,
  type PgshiftConfig,
} from '../src/config';
import { PgshiftError } from '../src/errors';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from '../src/migrations/types';
import { parseDuration } from '../src/config';
import type { LeaseActivityDeps } from './lease';

/** What every activity needs; injected so tests build activities without globals. */
export interface ActivityDeps {
  config: PgshiftConfig;
  /** Where database URLs and webhook URLs are read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Server for scratch databases of rollback tests (default: TEST_DATABASE_URL, else the environment's server). */
  scratchServerUrl?: string;
  /** Directory holding pg_dump / pg_restore; default: PGSHIFT_PG_BIN, /usr/lib/postgresql/<major>/bin, PATH. */
  pgBinDir?: string;
  /** Temporal client of the lease activities (activities/lease.ts); default: made from TEMPORAL_*. */
  client?: LeaseActivityDeps['client'];
}

/** The input of an activity that acts on one environment: its name (never its URL), and `Extra`. */
export type OnEnvironment<Extra extends object = object> = { environment: string } & Extra;

export function settingsOf(deps: ActivityDeps, environment: string): EnvironmentConfig {
  return environmentConfig(deps.config, environment);
}

/** Resolves the URL inside the activity: it never travels through workflow history. */
export function databaseUrlOf(deps: ActivityDeps, environment: string): string {
  return resolveDatabaseUrl(deps.config, environment, deps.env ?? process.env);
}

export function runnerOptionsFor(
  deps: ActivityDeps,
  environment: string,
  appliedBy?: string,
): RunnerOptions {
  const settings = settingsOf(deps, environment);
  return {
    ...DEFAULT_RUNNER_OPTIONS,
    lockTimeout: `${parseDuration(settings.lockTimeout)}ms`,
    lockWaitMs: parseDuration(settings.lockWait),
    ...(settings.cancelBlockersAfter
      ? { cancelBlockersAfterMs: parseDuration(settings.cancelBlockersAfter) }
      : {}),
    ...(settings.terminateIdleBlockersAfter
      ? { terminateIdleBlockersAfterMs: parseDuration(settings.terminateIdleBlockersAfter) }
      : {}),
    statementTimeout: `${parseDuration(settings.statementTimeout)}ms`,
    appliedBy: appliedBy ?? process.env.PGSHIFT_USER ?? userInfo().username,
  };
}

/** An activity that answers from its environment's settings in the worker's config. */
export function fromSettings<T>(
  deps: ActivityDeps,
  input: OnEnvironment,
  read: (settings: EnvironmentConfig) => T,
): Promise<T> {
  return asActivity(async () => read(settingsOf(deps, input.environment)));
}

/**
 * Runs an activity body and turns typed library errors into ApplicationFailures whose
 * `type` is the error code, non-retryable when retrying cannot help.
 */
export async function asActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toFailure(error);
  }
}

export function toFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof PgshiftError || isTypedError(error)) {
    const e = error as Error & { code: string; nonRetryable?: boolean; details?: unknown };
    return ApplicationFailure.create({
      message: e.message,
      type: e.code,
      nonRetryable: e.nonRetryable !== false,
      cause: undefined,
    });
  }
  return error;
}

function isTypedError(error: unknown): boolean {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { nonRetryable?: unknown }).nonRetryable === 'boolean'
  );
}
