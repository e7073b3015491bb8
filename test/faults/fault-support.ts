import { waitFor } from '../support/wait';
/**
 * What the fault tests share: real `pgshift worker` processes to kill, the statements a
 * database is running right now, and readers of a run's event history (which activities
 * completed, with what result, after how many attempts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { query, testServerUrl } from '../support/databases';
import { pgshiftProcessArgs } from '../support/temporal';

type History = temporal.api.history.v1.IHistory;

const repoRoot = join(__dirname, '..', '..');

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGKILL (a crash) and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean shutdown); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A real `pgshift worker` process (from the sources), resolved once it polls its task queue. */
export async function startWorkerProcess(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<WorkerProcess> {
  const [command, commandArgs] = pgshiftProcessArgs(['worker', ...args]);
  const child = spawn(command, commandArgs, {
    cwd: repoRoot,
    env: { ...process.env, PGSHIFT_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('polling task queue')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) =>
      reject(new Error(`pgshift worker exited (${code}) before polling:\n${output}`)),
    );
  });
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  };
  return {
    child,
    output: () => output,
    kill: async () => {
      await end('SIGKILL');
    },
    stop: () => end('SIGTERM'),
  };
}

/**
 * A `pgshift worker --config <configFile>` process on `stack`'s task queue, reading `stack.env`;
 * kept in `started` so that the test can stop every one it started.
 */
export async function stackWorkerProcess(
  stack: { env: NodeJS.ProcessEnv; taskQueue: string; configFile: string },
  started: WorkerProcess[],
): Promise<WorkerProcess> {
  const worker = await startWorkerProcess({ ...stack.env, PGSHIFT_TASK_QUEUE: stack.taskQueue }, [
    '--config',
    stack.configFile,
  ]);
  started.push(worker);
  return worker;
}

/** The name of the database in a connection URL. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** Is a session of `database` running a statement that contains `text`? (Asked on the admin database.) */
export async function isRunning(database: string, text: string): Promise<boolean> {
  const rows = await query(
    testServerUrl(),
    `SELECT pid FROM pg_stat_activity
      WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid() AND strpos(query, $2) > 0`,
    [database, text],
  );
  return rows.length > 0;
}

/** `waitFor` with the longer default these fault tests need (workers restart in them). */
export function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 120_000,
): Promise<T> {
  return waitFor(what, probe, timeoutMs);
}

export interface ActivityRun {
  type: string;
  /** Attempts started (the highest attempt number seen). */
  attempts: number;
  outcome: 'completed' | 'failed' | 'timed-out' | 'cancelled' | 'pending';
  result?: unknown;
}

/** Every activity the run scheduled, in order, with its outcome and decoded result. */
export function activityRuns(history: History): ActivityRun[] {
  const byId = new Map<string, ActivityRun>();
  for (const event of history.events ?? []) {
    const id = String(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      byId.set(id, { type: scheduled.activityType?.name ?? '?', attempts: 0, outcome: 'pending' });
      continue;
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const run = byId.get(String(started.scheduledEventId));
      if (run) run.attempts = Math.max(run.attempts, started.attempt ?? 1);
      continue;
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const run = byId.get(String(completed.scheduledEventId));
      if (run) {
        run.outcome = 'completed';
        const payload = completed.result?.payloads?.[0];
        run.result = payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
      }
      continue;
    }
    const ended =
      (event.activityTaskFailedEventAttributes &&
        (['failed', event.activityTaskFailedEventAttributes] as const)) ||
      (event.activityTaskTimedOutEventAttributes &&
        (['timed-out', event.activityTaskTimedOutEventAttributes] as const)) ||
      (event.activityTaskCanceledEventAttributes &&
        (['cancelled', event.activityTaskCanceledEventAttributes] as const));
    if (ended) {
      const run = byId.get(String(ended[1].scheduledEventId));
      if (run) run.outcome = ended[0];
    }
  }
  return [...byId.values()];
}

/** The runs of one activity type. */
export function runsOf(history: History, type: string): ActivityRun[] {
  return activityRuns(history).filter((r) => r.type === type);
}

/**
 * The history as the server stores it (protobuf bytes): strings and payloads appear verbatim,
 * so a secret anywhere in inputs, results, failures or details is found by a plain search.
 */
export function historyText(history: History): string {
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('utf8');
}
