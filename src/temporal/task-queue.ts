/** The task queue the pgshift worker polls and the CLI starts workflows on. */
export const DEFAULT_TASK_QUEUE = 'pgshift';

/** `PGSHIFT_TASK_QUEUE`, or `pgshift`. */
export function taskQueueFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.PGSHIFT_TASK_QUEUE?.trim() || DEFAULT_TASK_QUEUE;
}
