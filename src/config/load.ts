import { databaseUrlProblem } from './database-url';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors';
import {
  configSchema,
  environmentSchema,
  ENVIRONMENT_NAME,
  ENVIRONMENT_NAME_RULE,
  type EnvironmentConfig,
  type EnvironmentTier,
  type PgshiftConfig,
} from './schema';

export const DEFAULT_CONFIG_FILE = 'pgshift.config.json';

export interface LoadConfigOptions {
  /** `--config` value; wins over PGSHIFT_CONFIG. */
  path?: string;
  /** Directory the default file is looked up in; default process.cwd(). */
  cwd?: string;
  /** Environment variables (PGSHIFT_CONFIG); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Loads the config: `--config` path, else PGSHIFT_CONFIG, else ./pgshift.config.json.
 * An explicitly named file must exist; the default file is optional (with none, every
 * environment name works by convention). Throws ConfigError listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): PgshiftConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? (env.PGSHIFT_CONFIG || undefined);
  const file = resolve(cwd, explicit ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (explicit)
      throw new ConfigError(
        `config file ${file} does not exist (named by ${options.path ? '--config' : 'PGSHIFT_CONFIG'}): check the path, or omit it to use ./${DEFAULT_CONFIG_FILE}`,
        [],
        file,
      );
    return parseConfig({}, null);
  }
  const text = readFileSync(file, 'utf8');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      `${file}: not valid JSON${locateJsonError(text, error)}: ${(error as Error).message}`,
      [],
      file,
    );
  }
  return parseConfig(raw, file);
}

/** Validates raw config data (already parsed JSON); `source` names it in errors. */
export function parseConfig(raw: unknown, source: string | null): PgshiftConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success)
    throw ConfigError.fromIssues(
      source ?? DEFAULT_CONFIG_FILE,
      formatIssues(result.error.issues, raw),
    );
  const environments: Record<string, EnvironmentConfig> = {};
  for (const [name, settings] of Object.entries(result.data.environments))
    environments[name] = completeEnvironment(name, settings);
  return { ...result.data, environments, source };
}

/**
 * The settings of environment `name` with every default filled, also when the config
 * (or the whole file) does not mention it.
 */
export function environmentConfig(config: PgshiftConfig, name: string): EnvironmentConfig {
  if (!ENVIRONMENT_NAME.test(name))
    throw new ConfigError(
      `invalid environment name ${JSON.stringify(name)}: ${ENVIRONMENT_NAME_RULE}`,
    );
  return config.environments[name] ?? completeEnvironment(name, environmentSchema.parse({}));
}

/** `staging` → `STAGING_DATABASE_URL`, `eu-prod` → `EU_PROD_DATABASE_URL`. */
export function conventionalDatabaseUrlEnv(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DATABASE_URL`;
}

/**
 * The database URL of an environment, read from the variable it names. A missing variable
 * is a ConfigError naming the variable and the key that would change it.
 */
export function resolveDatabaseUrl(
  config: PgshiftConfig,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const settings = environmentConfig(config, name);
  const url = env[settings.databaseUrlEnv];
  const known = Object.keys(config.environments);
  if (!url && known.length > 0 && !known.includes(name))
    throw new ConfigError(
      `unknown environment "${name}": ${config.source ?? 'the config'} configures ${known.join(', ')}, and ${settings.databaseUrlEnv} is not set either; check the spelling, or add environments.${name}`,
      [{ path: `environments.${name}`, message: `not configured` }],
      config.source ?? undefined,
    );
  if (!url)
    throw new ConfigError(
      `${settings.databaseUrlEnv} is not set: export it or set environments.${name}.databaseUrlEnv`,
      [
        {
          path: `environments.${name}.databaseUrlEnv`,
          message: `${settings.databaseUrlEnv} is not set`,
        },
      ],
      config.source ?? undefined,
    );
  const problem = databaseUrlProblem(url, settings.databaseUrlEnv);
  if (problem)
    throw new ConfigError(
      problem,
      [{ path: `environments.${name}.databaseUrlEnv`, message: problem }],
      config.source ?? undefined,
    );
  return url;
}

/** The notification webhook URL of an environment (literal, or read from the variable it names). */
export function resolveWebhookUrl(
  settings: EnvironmentConfig,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (settings.notify.webhookUrlEnv) return env[settings.notify.webhookUrlEnv] || undefined;
  return settings.notify.webhookUrl;
}

function completeEnvironment(
  name: string,
  settings: z.output<typeof environmentSchema>,
): EnvironmentConfig {
  const requireRehearsalFrom =
    settings.requireRehearsalFrom === undefined
      ? name === 'production'
        ? 'staging'
        : null
      : settings.requireRehearsalFrom;
  return {
    ...settings,
    name,
    databaseUrlEnv: settings.databaseUrlEnv ?? conventionalDatabaseUrlEnv(name),
    requireRehearsalFrom,
    tier: settings.tier ?? defaultTier(name, requireRehearsalFrom),
  };
}

/**
 * The tier of an environment without `tier` in the config: `production` for the environment
 * named `production` and for any environment whose deploys require a rehearsal elsewhere
 * (`requireRehearsalFrom`), `staging` otherwise.
 */
export function defaultTier(name: string, requireRehearsalFrom: string | null): EnvironmentTier {
  return name === 'production' || requireRehearsalFrom !== null ? 'production' : 'staging';
}

/** Production-tier environments: no rehearsal runs there; data-losing rollbacks need approval. */
export function isProductionTier(settings: EnvironmentConfig): boolean {
  return settings.tier === 'production';
}

/**
 * Refuses a staging rehearsal on a production-tier environment: a rehearsal applies, rolls
 * back and re-applies migrations with no approval.
 */
export function assertRehearsable(settings: EnvironmentConfig): void {
  if (isProductionTier(settings))
    throw new ConfigError(
      `refusing to rehearse on ${settings.name}: it is a production-tier environment (environments.${settings.name}.tier; production is the default for an environment named production or one with requireRehearsalFrom). A rehearsal applies, rolls back and re-applies migrations without approval: rehearse on a staging environment, then deploy with pgshift deploy`,
      [
        {
          path: `environments.${settings.name}.tier`,
          message: 'a rehearsal refuses a production-tier environment',
        },
      ],
    );
}

/** `['environments', 'production', 'roster', 'engineering-lead', 1]` → `environments.production.roster.engineering-lead[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += /^[A-Za-z0-9_$-]+$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

type Issue = z.core.$ZodIssue;

/** Turns zod issues into one line each, naming the exact key; unions report their likeliest branch. */
function formatIssues(
  issues: readonly Issue[],
  raw: unknown,
  base: PropertyKey[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      out.push(...formatIssues(pickUnionBranch(issue.errors, valueAt(raw, path)), raw, path));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys)
        out.push({
          path: formatPath([...path, key]),
          message: 'unknown key: check its spelling against pgshift.config.schema.json',
        });
      continue;
    }
    let message = issue.message.replace(/^Invalid (input|option): /, '');
    if (issue.code === 'invalid_type' && /received undefined$/.test(message))
      message = `required (${message.replace(/, received undefined$/, '')})`;
    if (issue.code === 'invalid_key')
      message = `invalid key: ${issue.issues?.map((inner) => inner.message).join('; ') || message}`;
    out.push({ path: formatPath(path), message });
  }
  return out;
}

/** For a union (hooks, check expectations): the branch the author evidently meant. */
function pickUnionBranch(branches: Issue[][], value: unknown): Issue[] {
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.includes('command')) return branches[0];
    if (keys.includes('url') && branches[1]) return branches[1];
  }
  const typeMismatch = (branch: Issue[]) => (branch[0]?.code === 'invalid_type' ? 1 : 0);
  return [...branches].sort((a, b) => typeMismatch(a) - typeMismatch(b) || a.length - b.length)[0];
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let value: unknown = raw;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

function locateJsonError(text: string, error: unknown): string {
  const match = /position (\d+)/.exec((error as Error).message ?? '');
  if (!match) return '';
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return ` at line ${line}, column ${column}`;
}
