import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { ToolMissingError } from './errors';

const run = promisify(execFile);

export type PgTool = 'pg_dump' | 'pg_restore';

export interface FoundTool {
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
}

/** Parses "pg_dump (PostgreSQL) 15.18 (Debian …)" → { version: "15.18", major: 15 }. */
export function parseToolVersion(output: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) return undefined;
  const major = Number(match[1]);
  return { version: match[2] ? `${match[1]}.${match[2]}` : match[1], major };
}

/** Directories that may hold PostgreSQL client binaries, in order of preference. */
function candidateDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.PGSHIFT_PG_BIN) dirs.push(process.env.PGSHIFT_PG_BIN);
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const majors = readdirSync(debianRoot)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) dirs.push(join(debianRoot, major, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) dirs.push(dir);
  return [...new Set(dirs)];
}

const versionCache = new Map<string, FoundTool | undefined>();

async function probe(path: string): Promise<FoundTool | undefined> {
  if (versionCache.has(path)) return versionCache.get(path);
  let found: FoundTool | undefined;
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    const parsed = parseToolVersion(stdout);
    if (parsed) found = { path, ...parsed };
  } catch {
    found = undefined;
  }
  versionCache.set(path, found);
  return found;
}

function installHint(tool: PgTool, minMajor: number): string {
  return `install the PostgreSQL ${minMajor} (or newer) client tools (Debian/Ubuntu: apt-get install postgresql-client-${minMajor}; macOS: brew install postgresql@${minMajor}) or set PGSHIFT_PG_BIN to the directory holding ${tool}`;
}

/**
 * Finds `tool` with a major version >= `minMajor` (pg_dump must not be older than the
 * server). Prefers an exact major match, then the newest. With `binDir`, looks only there.
 */
export async function findPgTool(
  tool: PgTool,
  minMajor: number,
  opts: { binDir?: string } = {},
): Promise<FoundTool> {
  const dirs = opts.binDir ? [opts.binDir] : candidateDirs();
  const found: FoundTool[] = [];
  for (const dir of dirs) {
    const path = join(dir, tool);
    if (!existsSync(path)) continue;
    const info = await probe(path);
    if (info) found.push(info);
  }
  const usable = found.filter((f) => f.major >= minMajor);
  const exact = usable.find((f) => f.major === minMajor);
  const best = exact ?? usable.sort((a, b) => b.major - a.major)[0];
  if (best) return best;
  const seen = found.length
    ? ` (found only ${found.map((f) => `${f.path} ${f.version}`).join(', ')}, too old for a PostgreSQL ${minMajor} server)`
    : opts.binDir
      ? ` (not in ${opts.binDir})`
      : ' (not on PATH nor in /usr/lib/postgresql/*/bin)';
  throw new ToolMissingError(
    `${tool} ${minMajor} or newer not found${seen}: ${installHint(tool, minMajor)}`,
    tool,
  );
}
