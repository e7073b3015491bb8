import { execFile } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { errorClass } from '../../errors';
import { findFreePort } from '../../temporal/free-port';

const run = promisify(execFile);

/** The local stack cannot start on this machine as it is set up; the message says what to change. */
export class LocalStackError extends errorClass('LocalStackError', 2) {}

/** Where Debian/Ubuntu install PostgreSQL server binaries; PGSHIFT_PG_BIN overrides. */
export function findPostgresBin(): string {
  const candidates = [
    process.env.PGSHIFT_PG_BIN,
    '/usr/lib/postgresql/17/bin',
    '/usr/lib/postgresql/16/bin',
    '/usr/lib/postgresql/15/bin',
    '/usr/lib/postgresql/14/bin',
  ].filter((c): c is string => Boolean(c));
  for (const dir of candidates) if (existsSync(join(dir, 'pg_ctl'))) return dir;
  throw new Error(
    'PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin): install postgresql or set PGSHIFT_PG_BIN',
  );
}

export interface LocalPostgres {
  url: string; // superuser URL on 127.0.0.1
  port: number;
  dataDir: string;
  password: string;
  /** Set when the cluster lives in a temporary folder instead of the folder asked for. */
  relocatedTo?: string;
  stop(): Promise<void>;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the `postgres` OS user when we are root (initdb refuses root). */
async function runPg(bin: string, args: string[]): Promise<string> {
  const [cmd, cmdArgs] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', bin, ...args]]
    : [bin, args];
  try {
    const { stdout } = await run(cmd, cmdArgs, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message?: string };
    const output = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.trim().split('\n').slice(-4).join('\n');
    throw new LocalStackError(
      `${basename(bin)} ${args[0] ?? ''} failed${isRoot() ? ' (run as the postgres OS user)' : ''}: ${output || e.message}`,
    );
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresOsUser(): OsUser {
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('postgres:'));
  if (!passwd)
    throw new LocalStackError(
      'running as root, PostgreSQL\'s initdb refuses to run as root, and there is no "postgres" OS user to run it as: create one (useradd --system --home-dir /var/lib/postgresql postgres) or run pgshift as an ordinary user',
    );
  const [, , uid, gid] = passwd.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function chownToPostgres(path: string): void {
  if (!isRoot()) return;
  const { uid, gid } = postgresOsUser();
  chownSync(path, uid, gid);
}

/** Whether the `postgres` OS user can enter and write `dir` (every parent must be searchable). */
async function postgresCanUse(dir: string): Promise<boolean> {
  if (!isRoot()) return true;
  try {
    await run('runuser', ['-u', 'postgres', '--', 'test', '-w', dir, '-a', '-x', dir]);
    return true;
  } catch {
    return false;
  }
}

/**
 * PostgreSQL's Unix socket path must fit in sun_path (107 bytes); the socket lives in the
 * cluster's folder, so a deep clone needs a shorter folder.
 */
const MAX_SOCKET_DIR_LENGTH = 107 - '/.s.PGSQL.65535'.length;

/**
 * The folder the cluster lives in: `wanted`, or, when the `postgres` OS user cannot reach it
 * (root's private home, a mode-700 clone) or its path is too long for a socket, a fresh folder
 * under the system's temporary directory owned by `postgres`, removed when the cluster stops.
 */
async function clusterDir(wanted: string): Promise<{ dir: string; relocatedFrom?: string }> {
  mkdirSync(wanted, { recursive: true, mode: 0o700 });
  chownToPostgres(wanted);
  if (wanted.length <= MAX_SOCKET_DIR_LENGTH && (await postgresCanUse(wanted)))
    return { dir: wanted };
  const why =
    wanted.length > MAX_SOCKET_DIR_LENGTH
      ? `its path is longer than a Unix socket path may be`
      : `the postgres OS user cannot reach it`;
  const candidates = [...new Set([process.env.PGSHIFT_PG_DIR, tmpdir(), '/tmp', '/var/tmp'])];
  for (const parent of candidates) {
    if (!parent) continue;
    let dir: string;
    try {
      dir = mkdtempSync(join(parent, 'pgshift-pg-'));
    } catch {
      continue;
    }
    chownToPostgres(dir);
    if (dir.length <= MAX_SOCKET_DIR_LENGTH && (await postgresCanUse(dir)))
      return { dir, relocatedFrom: `${wanted} (${why})` };
    rmSync(dir, { recursive: true, force: true });
  }
  throw new LocalStackError(
    `cannot place the private PostgreSQL cluster: ${why} (${wanted}), and no temporary directory (${candidates.filter(Boolean).join(', ')}) is usable by the postgres OS user either. Clone pgshift into a directory the postgres user can enter (for example under /srv or /opt), or set PGSHIFT_PG_DIR to a directory it can write`,
  );
}

/**
 * Starts a private PostgreSQL cluster in `baseDir` (created if needed) on a free port,
 * with password authentication. Reuses an initialised data directory. When the `postgres`
 * OS user (root only) cannot reach `baseDir`, the cluster lives in a temporary folder it can
 * reach instead (`relocatedFrom` says why), removed by `stop()`.
 */
export async function startLocalPostgres(
  wantedDir: string,
  opts: { port?: number; log?: (line: string) => void } = {},
): Promise<LocalPostgres> {
  const bin = findPostgresBin();
  const placed = await clusterDir(wantedDir);
  const baseDir = placed.dir;
  if (placed.relocatedFrom)
    opts.log?.(
      `PostgreSQL's data lives in ${baseDir}, not in ${placed.relocatedFrom}; it is removed when the stack stops`,
    );
  const dataDir = join(baseDir, 'data');
  const passwordFile = join(baseDir, 'password');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const password = randomBytes(12).toString('hex');
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
    chownToPostgres(passwordFile);
    await runPg(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '--auth=scram-sha-256',
      `--pwfile=${passwordFile}`,
      '-E',
      'UTF8',
      '--locale=C',
    ]);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = opts.port ?? (await findFreePort());
  const logFile = join(baseDir, 'postgres.log');
  await runPg(join(bin, 'pg_ctl'), [
    '-D',
    dataDir,
    '-l',
    logFile,
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${baseDir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    'start',
  ]);
  const url = `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dataDir,
    password,
    ...(placed.relocatedFrom ? { relocatedTo: baseDir } : {}),
    stop: async () => {
      await runPg(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(
        () => undefined,
      );
      if (placed.relocatedFrom) rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

/** Same URL with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + database;
  return url.toString();
}
