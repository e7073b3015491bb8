import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface ProcessRun {
  wallMs: number;
  /** Peak resident set size of the process in MB (from /usr/bin/time -v), when available. */
  maxRssMb?: number;
  /** CPU time (user + system) of the process in ms (from /usr/bin/time -v), when available. */
  cpuMs?: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const GNU_TIME = '/usr/bin/time';

/**
 * Runs a command to completion and measures its wall time in this process (spawn to exit)
 * and its peak RSS with GNU time (`-v -o file`, so the command's own stderr is untouched).
 * Throws when it exits non-zero, with the tail of its output.
 */
export async function runProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; allowFailure?: boolean } = {},
): Promise<ProcessRun> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(tmpdir(), `pgshift-bench-time-${randomBytes(4).toString('hex')}`);
  const [cmd, cmdArgs] = useTime
    ? [GNU_TIME, ['-v', '-o', timeFile, command, ...args]]
    : [command, args];
  const started = performance.now();
  const child = spawn(cmd, cmdArgs, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  const wallMs = performance.now() - started;
  let maxRssMb: number | undefined;
  let cpuMs: number | undefined;
  if (useTime && existsSync(timeFile)) {
    const report = readFileSync(timeFile, 'utf8');
    const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
    if (match) maxRssMb = Number(match[1]) / 1024;
    const user = /User time \(seconds\): ([\d.]+)/.exec(report);
    const system = /System time \(seconds\): ([\d.]+)/.exec(report);
    if (user && system) cpuMs = (Number(user[1]) + Number(system[1])) * 1000;
    rmSync(timeFile, { force: true });
  }
  const run = {
    wallMs,
    maxRssMb,
    cpuMs,
    exitCode,
    stdout: Buffer.concat(out).toString(),
    stderr: Buffer.concat(err).toString(),
  };
  if (exitCode !== 0 && !options.allowFailure)
    throw new Error(
      `${command} ${args.join(' ')} exited ${exitCode}: ${(run.stderr || run.stdout).trim().split('\n').slice(-8).join('\n')}`,
    );
  return run;
}

/** Times an async function in this process. */
export async function timeIt<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The median of per-run ratios a[i] / b[i]: each pair ran back to back, so a load spike on
 * this shared machine hits both sides of a pair alike and cancels out of the ratio.
 */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((value, i) => value / b[i]));
}

/** Median of a[i] - b[i]: what a costs over b, run by run. */
export function pairedDifference(a: number[], b: number[]): number {
  return median(a.map((value, i) => value - b[i]));
}

/**
 * Flushes dirty pages to disk (`sync`) before a timed run, so that the writeback of the
 * previous run (a 1 GB restore leaves that much in the page cache) does not land in the next.
 */
export async function settle(): Promise<void> {
  await runProcess('sync', [], { allowFailure: true });
}

/** utime, stime, cutime and cstime (clock ticks) and the parent of a process, from /proc. */
function procStat(pid: number): { ticks: number; parent: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
    return { ticks: utime + stime + cutime + cstime, parent: Number(fields[1]) };
  } catch {
    return undefined; // gone meanwhile: its time is in its parent's cutime/cstime now
  }
}

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ). */
const TICK_MS = 10;

/**
 * CPU time (ms) a process and all its children have used so far: its own, that of the
 * children it has reaped, and that of its live children (and theirs). For the private
 * PostgreSQL (the postmaster): every backend, including those a run's CLI opened and closed,
 * and autovacuum; unlike wall time, hardly affected by the load of the machine.
 */
export function processTreeCpuMs(root: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat) children.set(stat.parent, [...(children.get(stat.parent) ?? []), Number(entry)]);
  }
  const total = (pid: number): number =>
    (procStat(pid)?.ticks ?? 0) + (children.get(pid) ?? []).reduce((sum, c) => sum + total(c), 0);
  return total(root) * TICK_MS;
}
