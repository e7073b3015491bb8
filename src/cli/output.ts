import { PgshiftError } from '../migrations/errors';

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

/** Exit codes: 0 success, 1 the check found problems, 2 usage/config, 3 infrastructure. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof PgshiftError) return error.exitCode;
  const code = (error as { code?: string })?.code;
  if (code === 'commander.invalidArgument' || code === 'commander.missingArgument') return 2;
  return 1;
}

/** One clear line (plus findings when present); a stack trace only with --verbose. */
export function reportError(error: unknown, options: GlobalOptions): number {
  const exitCode = exitCodeFor(error);
  const message = error instanceof Error ? error.message : String(error);
  if (options.json) {
    const name = error instanceof Error ? error.name : 'Error';
    const extra = error && typeof error === 'object' ? { ...(error as object) } : {};
    process.stdout.write(JSON.stringify({ error: { name, message, ...extra } }, null, 2) + '\n');
  } else {
    process.stderr.write(`pgshift: ${message}\n`);
    if (options.verbose && error instanceof Error && error.stack)
      process.stderr.write(error.stack + '\n');
  }
  return exitCode;
}
