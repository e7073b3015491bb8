import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chownSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { findFreePort } from './free-port';

const run = promisify(execFile);

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
  stop(): Promise<void>;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL binary, as the `postgres` OS user when we are root (initdb refuses root). */
async function runPg(bin: string, args: string[]): Promise<string> {
  const [cmd, cmdArgs] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', bin, ...args]]
    : [bin, args];
  const { stdout } = await run(cmd, cmdArgs, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

function chownToPostgres(path: string): void {
  if (!isRoot()) return;
  const passwd = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('postgres:'));
  if (!passwd)
    throw new Error('running as root but there is no "postgres" OS user to run initdb as');
  const [, , uid, gid] = passwd.split(':');
  chownSync(path, Number(uid), Number(gid));
}

/**
 * Starts a private PostgreSQL cluster in `baseDir` (created if needed) on a free port,
 * with password authentication. Reuses an initialised data directory.
 */
export async function startLocalPostgres(
  baseDir: string,
  opts: { port?: number } = {},
): Promise<LocalPostgres> {
  const bin = findPostgresBin();
  mkdirSync(baseDir, { recursive: true, mode: 0o700 });
  chownToPostgres(baseDir);
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
    stop: async () => {
      await runPg(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(
        () => undefined,
      );
    },
  };
}

/** Same URL with another database name. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + database;
  return url.toString();
}
