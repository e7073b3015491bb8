import { PgshiftError } from '../errors';

/** Options every command accepts. */
export interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
}

/** Prints `data` as JSON with --json, otherwise the human rendering. */
export function emit<T>(options: GlobalOptions, data: T, human: (data: T) => string): void {
  if (options.json) process.stdout.write(JSON.stringify(data, null, 2) + '\n');
  else {
    const text = human(data);
    if (text) process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
}

/** gRPC status codes that mean "the server is not there (or not answering)". */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;

/** An error from a library, translated for a person: what went wrong, what to do, exit code. */
interface Explained {
  message: string;
  exitCode: number;
  name: string;
}

function temporalAddress(): string {
  return process.env.TEMPORAL_ADDRESS?.trim() || 'localhost:7233';
}

function temporalNamespace(): string {
  return process.env.TEMPORAL_NAMESPACE?.trim() || 'default';
}

function grpcCode(error: unknown): number | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    depth++
  ) {
    if (typeof e.code === 'number') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * Turns errors of the Temporal SDK and other libraries into one actionable line. pgshift's
 * own typed errors already say what, where and what to do, and keep their exit code.
 */
export function explainError(error: unknown): Explained {
  if (error instanceof PgshiftError)
    return { message: error.message, exitCode: error.exitCode, name: error.name };
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const commanderCode = (error as { code?: string })?.code;
  if (
    commanderCode === 'commander.invalidArgument' ||
    commanderCode === 'commander.missingArgument'
  )
    return { message, exitCode: 2, name };
  if (name === 'WorkflowNotFoundError') {
    const id = (error as { workflowId?: string }).workflowId;
    return {
      name,
      exitCode: 2,
      message: `no workflow ${id || '(unknown id)'} in namespace ${temporalNamespace()}: list runs with \`pgshift list\``,
    };
  }
  if (name === 'NamespaceNotFoundError')
    return {
      name,
      exitCode: 2,
      message: `the Temporal namespace ${temporalNamespace()} does not exist on ${temporalAddress()}: set TEMPORAL_NAMESPACE to an existing namespace`,
    };
  const code = grpcCode(error);
  if (code === GRPC_UNAVAILABLE)
    return {
      name,
      exitCode: 3,
      message: `cannot reach the Temporal server at ${temporalAddress()}: start one with \`pgshift dev\` or set TEMPORAL_ADDRESS to a running cluster`,
    };
  if (code === GRPC_DEADLINE_EXCEEDED)
    return {
      name,
      exitCode: 3,
      message: `the Temporal server at ${temporalAddress()} did not answer in time: check that it is healthy (and that a pgshift worker runs for queries)`,
    };
  if (name === 'WorkflowFailedError') {
    const cause = (error as { cause?: Error }).cause;
    return {
      name,
      exitCode: 1,
      message: `${message}${cause?.message ? `: ${cause.message.split('\n')[0]}` : ''}: see \`pgshift status <workflowId>\` or the Web UI`,
    };
  }
  const [first] = message.split('\n');
  return {
    name,
    exitCode: 1,
    message: `${first || name} (unexpected error: run again with --verbose for details)`,
  };
}

/** Exit codes: 0 success, 1 the check found problems, 2 usage/config, 3 infrastructure. */
export function exitCodeFor(error: unknown): number {
  return explainError(error).exitCode;
}

/** Fields of an error worth printing with --json (findings, issues, run results, ids), never a stack or cause chain. */
function jsonFields(error: unknown): Record<string, unknown> {
  if (!error || typeof error !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error as object)) {
    if (key === 'cause' || key === 'stack') continue;
    if (value === undefined || typeof value === 'function') continue;
    out[key] = value;
  }
  return out;
}

/** One clear line (plus findings when present); a stack trace only with --verbose. */
export function reportError(error: unknown, options: GlobalOptions): number {
  const explained = explainError(error);
  if (options.json) {
    process.stdout.write(
      JSON.stringify(
        {
          error: {
            ...jsonFields(error),
            name: explained.name,
            message: explained.message,
            exitCode: explained.exitCode,
          },
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    process.stderr.write(`pgshift: ${explained.message}\n`);
  }
  if (options.verbose && error instanceof Error && error.stack) {
    process.stderr.write(error.stack + '\n');
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.stack) process.stderr.write(`caused by: ${cause.stack}\n`);
  }
  return explained.exitCode;
}
