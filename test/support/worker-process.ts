import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgshiftProcessArgs, uniqueTaskQueue } from './temporal';

/** A real `pgshift worker` process; resolves once it polls the task queue. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const [command, args] = pgshiftProcessArgs(['worker']);
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolvePolling, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('polling task queue')) resolvePolling();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`worker exited with ${code} before polling:\n${output}`)),
    );
  });
  return child;
}

/**
 * The environment of worker processes reading one config (written to
 * `<dir>/pgshift.config.json`) on a task queue of their own, with `env` added.
 */
export function workerProcessEnv(
  dir: string,
  config: object,
  env: NodeJS.ProcessEnv,
  queuePrefix: string,
): NodeJS.ProcessEnv {
  const configPath = join(dir, 'pgshift.config.json');
  writeFileSync(configPath, JSON.stringify(config));
  return {
    PGSHIFT_CONFIG: configPath,
    PGSHIFT_TASK_QUEUE: uniqueTaskQueue(queuePrefix),
    PGSHIFT_LOG_LEVEL: 'WARN',
    ...env,
  };
}
