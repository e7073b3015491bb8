import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { startExampleApp, type RunningExampleApp } from '../../../example-app/server';
import { parseConfig, type PgshiftConfig } from '../../config';
import { startDevServer, type DevServer } from '../../temporal/dev-server';
import { isPortOpen } from '../../temporal/port-probe';
import { createDemoKeys, demoKeysDir, type DemoKeys } from './demo-keys';
import { databaseUrl, startLocalPostgres, type LocalPostgres } from './postgres-server';

/** The embedded local stack the demo runs on: everything real, everything on 127.0.0.1. */
export interface LocalStack {
  dir: string;
  postgres: LocalPostgres;
  temporal: DevServer;
  apps: { staging: RunningExampleApp; production: RunningExampleApp };
  databases: { staging: string; production: string };
  config: PgshiftConfig;
  configPath: string;
  /** The approvers' SSH keys and the allowed-signers file production's approvals require. */
  keys: DemoKeys;
  /** Environment variables a person exports to use the CLI against this stack. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new Client(serverUrl);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return databaseUrl(serverUrl, name);
}

/** The demo's config: the example config's shape, pointed at this stack's apps. */
export function demoConfigJson(
  dir: string,
  apps: { staging: string; production: string },
  monitoringWindow: string,
): Record<string, unknown> {
  const environment = (name: 'staging' | 'production', url: string) => ({
    databaseUrlEnv: `${name.toUpperCase()}_DATABASE_URL`,
    healthChecks: [
      { name: 'api', url: `${url}/api/health`, maxLatencyMs: 2000 },
      { name: 'database', url: `${url}/api/health/db`, maxLatencyMs: 2000 },
    ],
    criticalTables: ['events', 'recovery_cases'],
    checks: [{ name: 'database answers', sql: 'SELECT 1', expect: 'non-empty' }],
    app: {
      deploy: { url: `${url}/admin/deploy` },
      rollback: { url: `${url}/admin/rollback` },
      versionUrl: `${url}/api/version`,
      metricsUrl: `${url}/api/metrics`,
    },
  });
  return {
    backupsDir: join(dir, 'backups'),
    plansDir: join(dir, 'plans'),
    reportsDir: join(dir, 'reports'),
    environments: {
      staging: environment('staging', apps.staging),
      production: {
        ...environment('production', apps.production),
        requireRehearsalFrom: 'staging',
        approvals: {
          requiredRoles: ['engineering-lead', 'product-owner', 'devops'],
          highRiskRoles: ['executive'],
          roster: {
            'engineering-lead': ['alice'],
            'product-owner': ['bob'],
            devops: ['carol'],
            executive: ['dave'],
          },
          expiry: '24h',
          reminderEvery: '4h',
          // production tier: every decision is an SSH-signed statement by a key listed here
          allowedSigners: join(demoKeysDir(dir), 'allowed_signers'),
        },
        monitoringWindow,
        monitoringInterval: '2s',
        rollbackWindow: '6s',
        emergency: { requireApprovalForDataLoss: true, approvers: ['alice', 'carol', 'dave'] },
      },
    },
  };
}

/**
 * Starts PostgreSQL (staging and production databases), a Temporal dev server with its
 * Web UI, and the example application twice (staging, production). Files live in `dir`,
 * recreated on each start.
 */
export async function startLocalStack(options: {
  dir: string;
  monitoringWindow?: string;
  log?: (line: string) => void;
}): Promise<LocalStack> {
  const dir = resolve(options.dir);
  const log = options.log ?? (() => undefined);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    log('starting a private PostgreSQL…');
    const postgres = await startLocalPostgres(join(dir, 'postgres'), { log });
    stops.push(() => postgres.stop());
    const databases = {
      staging: await createDatabase(postgres.url, 'churn_saver_staging'),
      production: await createDatabase(postgres.url, 'churn_saver_production'),
    };
    log('starting the Temporal dev server with its Web UI…');
    const preferred =
      !(await isPortOpen('127.0.0.1', 7233)) && !(await isPortOpen('127.0.0.1', 8233));
    const temporal = await startDevServer({
      ...(preferred ? { port: 7233, uiPort: 8233 } : {}),
      dbFile: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
      log,
    });
    stops.push(() => temporal.stop());
    log('starting the example application (staging and production)…');
    const staging = await startExampleApp({
      stateFile: join(dir, 'app-staging.json'),
      databaseUrl: databases.staging,
      initialVersion: '1.0.0',
    });
    stops.push(() => staging.stop());
    const production = await startExampleApp({
      stateFile: join(dir, 'app-production.json'),
      databaseUrl: databases.production,
      initialVersion: '1.0.0',
    });
    stops.push(() => production.stop());
    log("making the approvers' SSH keys (ssh-keygen -t ed25519) and their allowed_signers…");
    const keys = createDemoKeys(dir);
    const configJson = demoConfigJson(
      dir,
      { staging: staging.url, production: production.url },
      options.monitoringWindow ?? '12s',
    );
    const configPath = join(dir, 'pgshift.config.json');
    writeFileSync(configPath, JSON.stringify(configJson, null, 2) + '\n');
    const config = parseConfig(configJson, configPath);
    const env: Record<string, string> = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      ...(temporal.uiUrl ? { PGSHIFT_WEB_UI: temporal.uiUrl } : {}),
      PGSHIFT_CONFIG: configPath,
      STAGING_DATABASE_URL: databases.staging,
      PRODUCTION_DATABASE_URL: databases.production,
      TEST_DATABASE_URL: postgres.url,
    };
    return {
      dir,
      postgres,
      temporal,
      apps: { staging, production },
      databases,
      config,
      configPath,
      keys,
      env,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
