import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { redactSecrets } from '../app/redact';

/** Properties of a PostgreSQL error that can hold row data or statement text. */
const ROW_DATA_FIELDS = ['detail', 'where', 'internalQuery', 'hint'] as const;

function redactValue(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (value === undefined) return value;
  try {
    return JSON.parse(redactSecrets(JSON.stringify(value), env)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Removes credentials from an error and its causes, in place, before it becomes a failure
 * in workflow history: message, stack and ApplicationFailure details go through
 * `redactSecrets`; PostgreSQL's detail and context (row data) are dropped.
 */
export function redactError<T>(error: T, env: NodeJS.ProcessEnv = process.env): T {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current) && seen.size < 20) {
    seen.add(current);
    const target = current as Error & Record<string, unknown>;
    target.message = redactSecrets(target.message, env);
    if (typeof target.stack === 'string') target.stack = redactSecrets(target.stack, env);
    for (const field of ROW_DATA_FIELDS)
      if (typeof target[field] === 'string') delete target[field];
    if (Array.isArray(target.details))
      Object.defineProperty(target, 'details', {
        value: target.details.map((d: unknown) => redactValue(d, env)),
        configurable: true,
        enumerable: true,
        writable: true,
      });
    current = target.cause;
  }
  return error;
}

/**
 * Activity interceptor: every failure of every activity is redacted before it leaves the
 * worker, whatever the activity forgot (a URL in a driver message, a password in a tool's
 * stderr). Registered first, so it wraps every other interceptor.
 */
export function redactFailuresInterceptor(
  env: NodeJS.ProcessEnv = process.env,
): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (error) {
          throw redactError(error, env);
        }
      },
    },
  });
}
