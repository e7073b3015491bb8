import { spawn } from 'node:child_process';

export interface ToolRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  aborted: boolean;
  /** Last lines of stderr (verbose progress lines excluded), for error messages. */
  stderrTail: string;
  stdout: string;
}

export interface RunToolOptions {
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Called with each stderr line (pg_dump/pg_restore -v progress). */
  onStderrLine?: (line: string) => void;
  /** Keep stdout (pg_restore --list). */
  captureStdout?: boolean;
  /** Called right after the process started. */
  onSpawn?: (pid: number) => void;
}

/** Environment for libpq tools: the parent's, minus PG* variables that could redirect the connection. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('PG') || key === 'PGSHIFT_PG_BIN') env[key] = value;
  return { ...env, ...extra, LC_MESSAGES: 'C' };
}

/**
 * Runs a PostgreSQL client tool in its own process group, so that an abort kills it and
 * its parallel workers (`-j`). Never rejects on a non-zero exit: the caller interprets it.
 */
export function runTool(path: string, args: string[], opts: RunToolOptions = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      resolve({ exitCode: null, signal: null, aborted: true, stderrTail: '', stdout: '' });
      return;
    }
    const child = spawn(path, args, {
      env: childEnv(opts.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let aborted = false;
    const kill = () => {
      aborted = true;
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
    };
    opts.signal?.addEventListener('abort', kill, { once: true });
    if (child.pid) opts.onSpawn?.(child.pid);
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) handleLine(line);
    });
    const handleLine = (line: string) => {
      if (!line) return;
      opts.onStderrLine?.(line);
      if (
        /^\S+: (last built-in OID|reading|identifying|saving|dumping|processing|launching|finished|creating|restoring|executing|connecting|implied|entering|setting)/.test(
          line,
        )
      )
        return;
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      if (opts.captureStdout) out.push(chunk);
    });
    child.on('error', (error) => {
      opts.signal?.removeEventListener('abort', kill);
      reject(error);
    });
    child.on('close', (exitCode, signal) => {
      opts.signal?.removeEventListener('abort', kill);
      if (partial) handleLine(partial);
      resolve({
        exitCode,
        signal,
        aborted,
        stderrTail: tail.join('\n'),
        stdout: Buffer.concat(out).toString('utf8'),
      });
    });
  });
}

/** True when the tool's output says the disk is full. */
export function isDiskFull(run: ToolRun): boolean {
  return /No space left on device|could not (write|extend).*space/i.test(run.stderrTail);
}
