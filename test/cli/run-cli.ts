import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pgshiftProcessArgs } from '../support/temporal';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const repoRoot = join(__dirname, '..', '..');

export interface RunningCli {
  /** What it printed on stdout so far. */
  stdout(): string;
  done: Promise<CliRun>;
  kill(): void;
}

/** Starts `pgshift <args>` from the sources in a child process (stdout is not a TTY). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const [command, argv] = pgshiftProcessArgs(args);
  const child = spawn(command, argv, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    stdout: () => stdout,
    done,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs `pgshift <args>` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return spawnCli(args, env).done;
}

/** Polls `check` until it returns a truthy value (conditions, not sleeps); fails after `timeoutMs`. */
export async function waitUntil<T>(
  check: () => Promise<T> | T,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
