import { execFile } from 'node:child_process';
import { ConfigError } from '../config/errors';
import type { Hook } from '../config/schema';
import { redactSecrets, truncateOutput } from './redact';

/**
 * What a command hook inherits from the worker's environment: these names and prefixes only
 * (never `*_DATABASE_URL`, `TEMPORAL_*` or other credentials); the hook's own `env` from the
 * config comes on top.
 */
const INHERITED_NAMES = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TERM',
]);
const INHERITED_PREFIXES = ['LC_', 'NODE_'];

/** The allow-listed part of `env` that a command hook inherits. */
export function hookEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (
      value !== undefined &&
      (INHERITED_NAMES.has(name) || INHERITED_PREFIXES.some((p) => name.startsWith(p))) &&
      !/DATABASE_URL|^TEMPORAL_/.test(name)
    )
      out[name] = value;
  return out;
}

/** What running an application hook did; plain data (an activity result), no secrets. */
export interface HookResult {
  ok: boolean;
  kind: 'command' | 'http';
  /** Command hooks: the exit code (null when killed by a signal or never started). */
  exitCode?: number | null;
  /** HTTP hooks: the response status (0 when no response). */
  status?: number;
  /** stdout and stderr (command) or the response body (HTTP), truncated, credentials removed. */
  output: string;
  durationMs: number;
  /** Why it failed, in one line. */
  error?: string;
}

/** A hook as given in the config (defaults may be absent when built by hand). */
export type HookSpec =
  | { command: string[]; env?: Record<string, string>; cwd?: string; timeoutMs?: number }
  | { url: string; method?: 'POST' | 'PUT'; headers?: Record<string, string>; timeoutMs?: number };

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Runs an application hook: a command with execFile (arguments substituted, never a shell),
 * or an HTTP request whose JSON body is `vars`. `{name}` placeholders in arguments, env
 * values and URLs are replaced by `vars[name]`; an unknown placeholder is a ConfigError.
 * A failing hook is a result with ok: false, not an exception.
 */
export async function runHook(
  hook: Hook | HookSpec,
  vars: Record<string, string>,
  signal?: AbortSignal,
): Promise<HookResult> {
  return 'command' in hook ? runCommandHook(hook, vars, signal) : runHttpHook(hook, vars, signal);
}

/** Replaces `{name}` with vars[name]; `{{` and `}}` stand for literal braces. */
export function substitutePlaceholders(
  text: string,
  vars: Record<string, string>,
  where: string,
  encode: (value: string) => string = (value) => value,
): string {
  return text.replace(
    /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
    (match, name: string | undefined) => {
      if (match === '{{') return '{';
      if (match === '}}') return '}';
      const value = vars[name as string];
      if (value === undefined)
        throw new ConfigError(
          `${where} uses {${name}} but pgshift provides only ${
            Object.keys(vars)
              .map((key) => `{${key}}`)
              .join(', ') || 'no placeholders'
          } here`,
        );
      return encode(value);
    },
  );
}

async function runCommandHook(
  hook: Extract<HookSpec, { command: string[] }>,
  vars: Record<string, string>,
  signal?: AbortSignal,
): Promise<HookResult> {
  const [program, ...rawArgs] = hook.command.map((arg, i) =>
    substitutePlaceholders(arg, vars, `hook command argument ${i} (${JSON.stringify(arg)})`),
  );
  const extraEnv = Object.fromEntries(
    Object.entries(hook.env ?? {}).map(([key, value]) => [
      key,
      substitutePlaceholders(value, vars, `hook env ${key}`),
    ]),
  );
  const env = { ...hookEnvironment(), ...extraEnv };
  const secrets = { ...process.env, ...extraEnv };
  const started = performance.now();
  return new Promise<HookResult>((resolve) => {
    execFile(
      program,
      rawArgs,
      {
        cwd: hook.cwd,
        env,
        timeout: hook.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        killSignal: 'SIGTERM',
        maxBuffer: 10 * 1024 * 1024,
        signal,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const durationMs = Math.round(performance.now() - started);
        const output = truncateOutput(
          redactSecrets(`${stdout}${stderr ? `${stdout ? '\n' : ''}${stderr}` : ''}`, secrets),
        );
        if (!error) return resolve({ ok: true, kind: 'command', exitCode: 0, output, durationMs });
        const e = error as NodeJS.ErrnoException & {
          code?: unknown;
          killed?: boolean;
          signal?: string;
        };
        let reason: string;
        let exitCode: number | null = typeof e.code === 'number' ? e.code : null;
        if (e.code === 'ENOENT')
          reason = `program not found: ${program} (hook command[0]); use an absolute path or check PATH`;
        else if (e.code === 'EACCES') reason = `program is not executable: ${program}`;
        else if (e.name === 'AbortError' || signal?.aborted) reason = 'cancelled';
        else if (e.killed && e.signal)
          reason = `timed out after ${hook.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms (killed with ${e.signal})`;
        else if (exitCode !== null) reason = `${program} exited with code ${exitCode}`;
        else reason = redactSecrets(e.message, secrets);
        if (typeof e.code !== 'number') exitCode = null;
        resolve({ ok: false, kind: 'command', exitCode, output, durationMs, error: reason });
      },
    );
  });
}

async function runHttpHook(
  hook: Extract<HookSpec, { url: string }>,
  vars: Record<string, string>,
  signal?: AbortSignal,
): Promise<HookResult> {
  const url = substitutePlaceholders(hook.url, vars, 'hook url', encodeURIComponent);
  const timeoutMs = hook.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: hook.method ?? 'POST',
      headers: { 'content-type': 'application/json', ...(hook.headers ?? {}) },
      body: JSON.stringify(vars),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const body = await response.text();
    const durationMs = Math.round(performance.now() - started);
    const output = truncateOutput(redactSecrets(body));
    return response.ok
      ? { ok: true, kind: 'http', status: response.status, output, durationMs }
      : {
          ok: false,
          kind: 'http',
          status: response.status,
          output,
          durationMs,
          error: `${hook.method ?? 'POST'} ${redactSecrets(url)} answered HTTP ${response.status}`,
        };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const reason = signal?.aborted
      ? 'cancelled'
      : timeout.aborted
        ? `no answer from ${redactSecrets(url)} within ${timeoutMs} ms`
        : `cannot reach ${redactSecrets(url)}: ${describeFetchError(error)}`;
    return { ok: false, kind: 'http', status: 0, output: '', durationMs, error: reason };
  }
}

/** fetch's "fetch failed" hides the cause (ECONNREFUSED, ENOTFOUND…): bring it out. */
export function describeFetchError(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return redactSecrets(e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error));
}
