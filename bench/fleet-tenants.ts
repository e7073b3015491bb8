import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier } from 'pg';
import { databaseUrl } from '../src/dev/local/postgres-server';
import { ROOT } from './paths';

const run = promisify(execFile);

/** Names of the fleet benchmark's tenant databases: `bench_tenant_001` … */
export function tenantNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench_tenant_${String(i + 1).padStart(3, '0')}`);
}

/** (Re)creates `names` as empty databases on the server of `serverUrl`. */
export async function createTenants(serverUrl: string, names: string[]): Promise<string[]> {
  const admin = new Client(serverUrl);
  await admin.connect();
  try {
    for (const name of names) {
      await admin.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
    }
  } finally {
    await admin.end();
  }
  return names.map((name) => databaseUrl(serverUrl, name));
}

/**
 * The baseline: bench/fleet-shell-loop.sh (pg_dump, `psql -1 -f` per forward file, `SELECT 1`
 * per database, `xargs -P concurrency`). Returns its wall time in ms.
 */
export async function timeShellLoop(
  urls: string[],
  concurrency: number,
  workDir: string,
): Promise<number> {
  const list = join(workDir, 'tenant-urls.txt');
  writeFileSync(list, urls.join('\n') + '\n', { mode: 0o600 });
  const started = performance.now();
  await run(
    'bash',
    [
      join(ROOT, 'bench', 'fleet-shell-loop.sh'),
      list,
      String(concurrency),
      join(workDir, 'shell-loop-backups'),
      join(ROOT, 'migrations'),
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return performance.now() - started;
}
