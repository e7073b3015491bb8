import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgshiftProcessArgs, uniqueTaskQueue } from '../support/temporal';

const repoRoot = join(__dirname, '..', '..');

describe('pgshift worker', () => {
  it('polls its task queue and exits cleanly (code 0) on SIGTERM', async () => {
    const taskQueue = uniqueTaskQueue('worker-cli');
    const [command, args] = pgshiftProcessArgs(['worker']);
    const child = spawn(command, args, {
      cwd: repoRoot,
      env: { ...process.env, PGSHIFT_TASK_QUEUE: taskQueue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const polling = new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`polling task queue "${taskQueue}"`)) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`pgshift worker exited (${code}) before polling:\n${output}`)),
      );
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await polling;
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('pgshift worker stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
