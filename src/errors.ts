/**
 * The base of every pgshift error, and the errors any layer may raise (bad input, an
 * unreachable service). `code` is stable: activities turn it into a non-retryable
 * ApplicationFailure type, the CLI maps `exitCode` to the process exit code. Errors of one
 * capability live beside it (src/migrations/errors.ts, src/backup/errors.ts,
 * src/config/errors.ts).
 */
export abstract class PgshiftError extends Error {
  abstract readonly code: string;
  /** 1: the check found problems; 2: usage/configuration; 3: infrastructure unreachable. */
  abstract readonly exitCode: 1 | 2 | 3;
  /** True when retrying cannot help (bad input, drift, a failing migration). */
  readonly nonRetryable: boolean = true;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line or config input. */
export class UsageError extends PgshiftError {
  readonly code = 'UsageError';
  readonly exitCode = 2;
}

/** The database (or another service) cannot be reached or refuses our credentials. */
export class ConnectionError extends PgshiftError {
  readonly code: string = 'ConnectionError';
  readonly exitCode = 3;
  override readonly nonRetryable: boolean = false;
}

/** The server refused our credentials: retrying with the same ones cannot help. */
export class AuthenticationError extends ConnectionError {
  override readonly code = 'AuthenticationError';
  override readonly nonRetryable = true;
}

/** A PgshiftError whose code and exit code its class fixed. */
type ErrorOfKind = { [member in keyof PgshiftError]: PgshiftError[member] };

/**
 * The base class of an error with a fixed code and exit code; `retryable` when another
 * attempt can succeed (a lock another run holds, a cancelled child process):
 *
 *   export class LockTimeoutError extends errorClass('LockTimeoutError', 1, { retryable: true }) {}
 */
export function errorClass(
  code: string,
  exitCode: 1 | 2 | 3,
  options: { retryable?: boolean } = {},
): new (message: string) => ErrorOfKind {
  return class extends PgshiftError {
    readonly code = code;
    readonly exitCode = exitCode;
    override readonly nonRetryable: boolean = !options.retryable;
  };
}

/**
 * The base class of an error with a fixed code and exit code that carries one detail besides
 * its message, under the name `detail`:
 *
 *   export class DriftError extends errorWithDetail<'versions', number[]>('DriftError', 1, 'versions') {}
 *   new DriftError('001 changed on disk', [1]).versions; // [1]
 */
export function errorWithDetail<Key extends string, Value>(
  code: string,
  exitCode: 1 | 2 | 3,
  detail: Key,
): new (message: string, value: Value) => ErrorOfKind & { readonly [key in Key]: Value } {
  return class extends errorClass(code, exitCode) {
    constructor(message: string, value: Value) {
      super(message);
      Object.defineProperty(this, detail, { value, enumerable: true });
    }
  } as never;
}
