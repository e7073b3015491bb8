import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The newest Temporal CLI that `go install` accepts (later tags carry a replace directive). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `which`: the first executable `name` on PATH. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** `${PGSHIFT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pgshift}` */
export function pgshiftCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGSHIFT_CACHE_DIR) return env.PGSHIFT_CACHE_DIR;
  const cacheHome = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cacheHome, 'pgshift');
}

/** Where a built Temporal CLI is kept between clones and CI runs. */
export function cachedTemporalBinary(env: NodeJS.ProcessEnv = process.env): string {
  return join(pgshiftCacheDir(env), 'bin', 'temporal');
}

/** The binary already available without building: env override, PATH, cache. */
export function findTemporalBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PGSHIFT_TEMPORAL_BIN) {
    if (!isExecutable(env.PGSHIFT_TEMPORAL_BIN))
      throw new Error(
        `PGSHIFT_TEMPORAL_BIN=${env.PGSHIFT_TEMPORAL_BIN} is not an executable file: fix the path or unset it`,
      );
    return env.PGSHIFT_TEMPORAL_BIN;
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;
  const cached = cachedTemporalBinary(env);
  return isExecutable(cached) ? cached : undefined;
}

/**
 * Builds the Temporal CLI from its Go module into the cache (about 2–3 minutes on 2 cores).
 * Go's module and build caches stay in their defaults under HOME.
 */
export async function buildTemporalBinary(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const go = findOnPath('go', env);
  if (!go) throw new Error('Go is not installed');
  const target = cachedTemporalBinary(env);
  const binDir = join(pgshiftCacheDir(env), 'bin');
  mkdirSync(binDir, { recursive: true });
  log(
    `pgshift: building the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${binDir} with \`go install\` (about 2–3 minutes, once per machine)…`,
  );
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: binDir, GOFLAGS: env.GOFLAGS ?? '-buildvcs=false' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => output.push(chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0 || !isExecutable(target)) {
    throw new Error(
      `building the Temporal CLI failed (go install exited ${code}): ${output.join('').trim().split('\n').slice(-5).join(' | ')}`,
    );
  }
  log(`pgshift: built ${target} in ${Math.round((Date.now() - started) / 1000)}s`);
  return target;
}

/**
 * The Temporal CLI to run the dev server with, in order: `PGSHIFT_TEMPORAL_BIN`, `temporal`
 * on PATH, the cache (`~/.cache/pgshift/bin/temporal`), a `go install` build into the cache.
 * Undefined when there is no Go either: callers then let `@temporalio/testing` download one.
 */
export async function resolveTemporalBinary(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<string | undefined> {
  const env = options.env ?? process.env;
  const found = findTemporalBinary(env);
  if (found) return found;
  if (!findOnPath('go', env)) return undefined;
  return buildTemporalBinary(options);
}
