import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, escapeIdentifier } from 'pg';
import {
  databaseUrl,
  startLocalPostgres,
  type LocalPostgres,
} from '../src/dev/local/postgres-server';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';
import { processTreeCpuMs } from './measure';

/**
 * The services a benchmark needs: a private PostgreSQL (or TEST_DATABASE_URL) and, for the
 * Temporal benchmarks, a dev server (or TEMPORAL_ADDRESS). Everything is started once per
 * `npm run bench` and stopped at the end; databases and folders are made fresh per run.
 */
export interface BenchInfra {
  /** Superuser URL of the server (database `postgres`). */
  serverUrl: string;
  /** Scratch folder of this bench run (generated migrations, backups, reports). */
  workDir: string;
  /** A new empty database; its URL. */
  createDatabase(prefix: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  /**
   * CPU time (ms) the private PostgreSQL (all its processes) has used so far; undefined for a
   * server of TEST_DATABASE_URL, whose processes this machine may not see.
   */
  serverCpuMs(): number | undefined;
  /** The Temporal dev server, started on first use. */
  temporal(): Promise<{ address: string; namespace: string }>;
  stop(): Promise<void>;
}

export async function startInfra(log: (line: string) => void): Promise<BenchInfra> {
  const workDir = mkdtempSync(join(tmpdir(), 'pgshift-bench-'));
  let postgres: LocalPostgres | undefined;
  let pgDir: string | undefined;
  let serverUrl = process.env.TEST_DATABASE_URL;
  if (!serverUrl) {
    log('starting a private PostgreSQL for the benchmarks…');
    // Its own top-level folder: the PostgreSQL OS user cannot enter workDir (mode 0700, root).
    pgDir = mkdtempSync(join(tmpdir(), 'pgshift-bench-pg-'));
    postgres = await startLocalPostgres(pgDir);
    serverUrl = postgres.url;
  } else log('using the PostgreSQL server of TEST_DATABASE_URL');
  const admin = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client(serverUrl);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  let devServer: DevServer | undefined;
  let temporal: Promise<{ address: string; namespace: string }> | undefined;
  const url = serverUrl;
  return {
    serverUrl: url,
    workDir,
    async createDatabase(prefix) {
      const name = `bench_${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
      await admin((c) => c.query(`CREATE DATABASE ${escapeIdentifier(name)}`));
      return databaseUrl(url, name);
    },
    serverCpuMs() {
      if (!postgres) return undefined;
      const pid = Number(
        readFileSync(join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      return processTreeCpuMs(pid);
    },
    async dropDatabase(dbUrl) {
      const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(name)} WITH (FORCE)`));
    },
    temporal() {
      temporal ??= (async () => {
        if (process.env.TEMPORAL_ADDRESS)
          return {
            address: process.env.TEMPORAL_ADDRESS,
            namespace: process.env.TEMPORAL_NAMESPACE || 'default',
          };
        log('starting a Temporal dev server for the benchmarks…');
        const logFile = join(tmpdir(), `pgshift-bench-temporal-${process.pid}.log`);
        for (let attempt = 1; !devServer; attempt++) {
          try {
            // The log lives outside workDir so that it survives the run for post-mortems.
            devServer = await startDevServer({ headless: true, logFile, log });
          } catch (error) {
            // A chosen free port can be taken before the server binds it: try again.
            if (attempt >= 3) throw error;
            log(`the dev server did not start (${(error as Error).message}); retrying`);
          }
        }
        return { address: devServer.address, namespace: devServer.namespace };
      })();
      return temporal;
    },
    async stop() {
      await Promise.allSettled([devServer?.stop(), postgres?.stop()]);
      // The dev server's log is kept only when it failed to start (for the post-mortem).
      if (devServer)
        rmSync(join(tmpdir(), `pgshift-bench-temporal-${process.pid}.log`), { force: true });
      rmSync(workDir, { recursive: true, force: true });
      if (pgDir) rmSync(pgDir, { recursive: true, force: true });
    },
  };
}
