import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertRehearsable,
  ConfigError,
  isProductionTier,
  configJsonSchema,
  environmentConfig,
  loadConfig,
  parseConfig,
  resolveDatabaseUrl,
  resolveWebhookUrl,
} from '../../src/config';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pgshift-config-'));
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config file', () => {
  it('names every wrong key at once, with its exact path', () => {
    const error = configError(() =>
      parseConfig(
        {
          migrationsDir: 3,
          environments: {
            production: {
              approvals: { roster: { 'engineering-lead': ['alice', 7] }, expiry: 'tomorrow' },
              lockTimout: '5s',
              healthChecks: [{ url: 'http://127.0.0.1/api/health' }],
              app: { deploy: { command: 'deploy.sh --now' }, rollback: { url: 'ftp://host' } },
            },
          },
        },
        'pgshift.config.json',
      ),
    );
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('ConfigError');
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath).toEqual({
      migrationsDir: 'expected string, received number',
      'environments.production.approvals.roster.engineering-lead[1]':
        'expected string, received number',
      'environments.production.approvals.expiry': expect.stringMatching(/expected a duration/),
      'environments.production.lockTimout': expect.stringMatching(/unknown key/),
      'environments.production.healthChecks[0].name': 'required (expected string)',
      'environments.production.app.deploy.command': 'expected array, received string',
      'environments.production.app.rollback.url': 'expected an http:// or https:// URL',
    });
    expect(error.message).toMatch(/^pgshift.config.json has 7 problems:\n/);
    expect(error.message).toContain(
      '  environments.production.approvals.roster.engineering-lead[1]: expected string, received number',
    );
  });

  it('refuses a watch with more samples than a workflow history can hold, naming the key', () => {
    const error = configError(() =>
      parseConfig(
        {
          environments: {
            production: { monitoringWindow: '24h', monitoringInterval: '10s' },
            staging: { rollbackWindow: '12h', monitoringInterval: '15s' },
            dev: { monitoringWindow: '5h', monitoringInterval: '10s' },
          },
        },
        'pgshift.config.json',
      ),
    );
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath).toEqual({
      'environments.production.monitoringWindow':
        '24h sampled every 10s (monitoringInterval) is 8640 samples, over 2000: Temporal would end the run when its history passes 50 000 events; sample less often or watch for less time',
      'environments.staging.rollbackWindow': expect.stringMatching(
        /^12h sampled every 15s .* 2880 samples/,
      ),
    });
  });

  it('refuses a database URL written where a variable name belongs', () => {
    const error = configError(() =>
      parseConfig(
        { environments: { staging: { databaseUrlEnv: 'postgres://u:p@h/db' } } },
        'x.json',
      ),
    );
    expect(error.issues[0].path).toBe('environments.staging.databaseUrlEnv');
    expect(error.issues[0].message).toMatch(/NAME of an environment variable/);
  });

  it('fills every default', () => {
    const config = parseConfig({ environments: { staging: {} } }, null);
    const staging = config.environments.staging;
    expect(config.migrationsDir).toBe('migrations');
    expect(config.reportsDir).toBe('.pgshift/reports');
    expect(staging.lockTimeout).toBe('200ms');
    expect(staging.lockWait).toBe('10m');
    expect(staging.cancelBlockersAfter).toBeUndefined();
    expect(staging.statementTimeout).toBe('15min');
    expect(staging.approvals).toEqual({
      requiredRoles: ['engineering-lead', 'product-owner', 'devops'],
      highRiskRoles: ['executive'],
      roster: {},
      expiry: '24h',
      reminderEvery: '4h',
      allowInitiator: false,
    });
    expect(staging.thresholds).toEqual({
      errorRatePercent: 5,
      responseTimeMs: 2000,
      dbConnectionsPercent: 80,
      performanceDegradationPercent: 50,
      consecutiveHealthFailures: 3,
    });
    expect(staging.monitoringWindow).toBe('10m');
    expect(staging.emergency.requireApprovalForDataLoss).toBe(true);
  });

  it('fills hook and health-check defaults', () => {
    const config = parseConfig(
      {
        environments: {
          production: {
            healthChecks: [{ name: 'api', url: 'http://127.0.0.1:1/api/health' }],
            app: {
              deploy: { url: 'http://127.0.0.1:1/admin/deploy' },
              rollback: { command: ['true'] },
            },
          },
        },
      },
      null,
    );
    const production = config.environments.production;
    expect(production.healthChecks[0]).toMatchObject({ maxLatencyMs: 2000, expectStatus: 200 });
    expect(production.app.deploy).toMatchObject({ method: 'POST', timeoutMs: 120_000 });
    expect(production.app.rollback).toMatchObject({ command: ['true'], timeoutMs: 120_000 });
  });

  it('loads the shipped example config', () => {
    const config = loadConfig({ path: 'pgshift.config.example.json' });
    expect(Object.keys(config.environments)).toEqual(['staging', 'production']);
    expect(config.environments.production.criticalTables).toEqual(['events', 'recovery_cases']);
    expect(config.environments.production.approvals.roster['engineering-lead']).toEqual(['alice']);
    expect(config.source).toMatch(/pgshift\.config\.example\.json$/);
  });

  it('works without a file: every environment by convention', () => {
    const config = loadConfig({ cwd: tempDir(), env: {} });
    expect(config.source).toBeNull();
    expect(config.environments).toEqual({});
    const qa = environmentConfig(config, 'qa');
    expect(qa.databaseUrlEnv).toBe('QA_DATABASE_URL');
    expect(qa.requireRehearsalFrom).toBeNull();
    expect(environmentConfig(config, 'production').requireRehearsalFrom).toBe('staging');
    expect(environmentConfig(config, 'eu-west_2').databaseUrlEnv).toBe('EU_WEST_2_DATABASE_URL');
  });

  it('reads the file named by PGSHIFT_CONFIG, and --config wins over it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ migrationsDir: 'from-env' }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ migrationsDir: 'from-flag' }));
    expect(loadConfig({ cwd: dir, env: { PGSHIFT_CONFIG: 'a.json' } }).migrationsDir).toBe(
      'from-env',
    );
    expect(
      loadConfig({ cwd: dir, path: 'b.json', env: { PGSHIFT_CONFIG: 'a.json' } }).migrationsDir,
    ).toBe('from-flag');
  });

  it('reads ./pgshift.config.json by default', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pgshift.config.json'), JSON.stringify({ reportsDir: 'out' }));
    expect(loadConfig({ cwd: dir, env: {} }).reportsDir).toBe('out');
  });

  it('refuses an explicitly named file that does not exist', () => {
    const error = configError(() => loadConfig({ cwd: tempDir(), path: 'missing.json', env: {} }));
    expect(error.message).toMatch(/missing\.json does not exist \(named by --config\)/);
    const fromEnv = configError(() =>
      loadConfig({ cwd: tempDir(), env: { PGSHIFT_CONFIG: 'nope.json' } }),
    );
    expect(fromEnv.message).toMatch(/named by PGSHIFT_CONFIG/);
  });

  it('says where the JSON is broken', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pgshift.config.json'), '{\n  "migrationsDir": "m",\n  oops\n}');
    const error = configError(() => loadConfig({ cwd: dir, env: {} }));
    expect(error.message).toMatch(/not valid JSON at line 3, column 3/);
  });
});

describe('database URL resolution', () => {
  it('reads <ENV>_DATABASE_URL by convention for any environment name', () => {
    const config = parseConfig({}, null);
    expect(resolveDatabaseUrl(config, 'qa', { QA_DATABASE_URL: 'postgresql://qa-host/app' })).toBe(
      'postgresql://qa-host/app',
    );
  });

  it('reads the variable the config names', () => {
    const config = parseConfig({ environments: { staging: { databaseUrlEnv: 'STG_PG' } } }, null);
    expect(resolveDatabaseUrl(config, 'staging', { STG_PG: 'postgresql://s/app' })).toBe(
      'postgresql://s/app',
    );
  });

  it('names the missing variable and the key that changes it', () => {
    const config = parseConfig({}, null);
    const error = configError(() => resolveDatabaseUrl(config, 'staging', {}));
    expect(error.message).toBe(
      'STAGING_DATABASE_URL is not set: export it or set environments.staging.databaseUrlEnv',
    );
    expect(error.exitCode).toBe(2);
  });

  it('refuses an environment name that cannot be a variable name part', () => {
    expect(() => environmentConfig(parseConfig({}, null), 'prod; rm -rf')).toThrow(ConfigError);
  });

  it('resolves the notification webhook from its variable', () => {
    const config = parseConfig(
      { environments: { production: { notify: { webhookUrlEnv: 'HOOK' } } } },
      null,
    );
    expect(
      resolveWebhookUrl(config.environments.production, { HOOK: 'http://127.0.0.1:9/x' }),
    ).toBe('http://127.0.0.1:9/x');
    expect(resolveWebhookUrl(config.environments.production, {})).toBeUndefined();
  });
});

describe('environment tiers', () => {
  it('makes the environment named production, and one that requires a rehearsal, production-tier by default', () => {
    const config = parseConfig(
      { environments: { 'eu-prod': { requireRehearsalFrom: 'staging' }, qa: {} } },
      null,
    );
    expect(environmentConfig(config, 'production').tier).toBe('production');
    expect(environmentConfig(config, 'eu-prod').tier).toBe('production');
    expect(environmentConfig(config, 'qa').tier).toBe('staging');
    expect(environmentConfig(config, 'staging').tier).toBe('staging');
  });

  it('takes the tier the config gives', () => {
    const config = parseConfig(
      { environments: { live: { tier: 'production' }, sandbox: { tier: 'development' } } },
      null,
    );
    expect(environmentConfig(config, 'live').tier).toBe('production');
    expect(isProductionTier(environmentConfig(config, 'live'))).toBe(true);
    expect(environmentConfig(config, 'sandbox').tier).toBe('development');
    const error = configError(() =>
      parseConfig({ environments: { live: { tier: 'prod' } } }, null),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['environments.live.tier']);
  });

  it('refuses an environment name with capitals, naming the key, so Production cannot alias production', () => {
    const error = configError(() =>
      parseConfig({ environments: { Production: { tier: 'staging' } } }, null),
    );
    expect(error.issues.map((i) => i.path)).toEqual(['environments.Production']);
    expect(error.message).toMatch(/lowercase letters, digits, - and _/);
    expect(() => environmentConfig(parseConfig({}, null), 'Production')).toThrow(
      /invalid environment name "Production": environment names use lowercase letters/,
    );
  });

  it('refuses to rehearse on a production-tier environment, naming the key', () => {
    const config = parseConfig({ environments: { live: { tier: 'production' } } }, null);
    const error = configError(() => assertRehearsable(environmentConfig(config, 'live')));
    expect(error.message).toMatch(
      /^refusing to rehearse on live: it is a production-tier environment/,
    );
    expect(error.issues[0].path).toBe('environments.live.tier');
    expect(() => assertRehearsable(environmentConfig(config, 'staging'))).not.toThrow();
  });
});

describe('config JSON Schema', () => {
  it('describes the file for editors, with defaults and patterns', () => {
    const schema = configJsonSchema() as {
      $schema: string;
      title: string;
      properties: Record<
        string,
        {
          additionalProperties?: {
            properties: Record<string, { default?: unknown; pattern?: string }>;
          };
        }
      >;
    };
    expect(schema.$schema).toContain('json-schema.org');
    expect(schema.title).toBe('pgshift configuration');
    const environment = schema.properties.environments.additionalProperties!;
    expect(environment.properties.monitoringWindow.default).toBe('10m');
    expect(environment.properties.lockTimeout.pattern).toBeDefined();
    expect(Object.keys(environment.properties)).toEqual(
      expect.arrayContaining([
        'databaseUrlEnv',
        'healthChecks',
        'approvals',
        'thresholds',
        'notify',
        'emergency',
      ]),
    );
  });
});
