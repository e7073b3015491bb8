import { z } from 'zod';
import { DURATION_PATTERN, tryParseDuration } from './duration';

/**
 * The zod schema of `pgshift.config.json`. Objects are strict (a misspelt key is an error
 * naming it), every optional setting has its default here, and secrets appear only as the
 * NAME of an environment variable. Settings whose default depends on the environment's
 * name (databaseUrlEnv, requireRehearsalFrom) are completed in load.ts.
 */

const duration = (example: string) =>
  z
    .string()
    .regex(
      new RegExp(DURATION_PATTERN),
      `expected a duration such as '500ms', '15s', '10m', '24h' (e.g. '${example}')`,
    );

const envVarName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'expected the NAME of an environment variable (letters, digits, _), not its value',
  );

const httpUrl = z.string().regex(/^https?:\/\/\S+$/, 'expected an http:// or https:// URL');

/** An application hook run with execFile (argument list, never a shell string). */
export const commandHookSchema = z.strictObject({
  command: z
    .array(z.string())
    .min(
      1,
      'expected the program and its arguments, e.g. ["node", "dist/example-app/hook.js", "deploy", "{version}"]',
    ),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  timeoutMs: z.number().int().positive().default(120_000),
});

/** An application hook that is an HTTP request with a JSON body. */
export const httpHookSchema = z.strictObject({
  url: httpUrl,
  method: z.enum(['POST', 'PUT']).default('POST'),
  headers: z.record(z.string(), z.string()).optional(),
  timeoutMs: z.number().int().positive().default(120_000),
});

export const hookSchema = z.union([commandHookSchema, httpHookSchema]);

export const healthCheckSchema = z.strictObject({
  name: z.string().min(1),
  url: httpUrl,
  maxLatencyMs: z.number().int().positive().default(2000),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeoutMs: z.number().int().positive().default(10_000),
});

export const sqlCheckSchema = z.strictObject({
  name: z.string().min(1),
  sql: z.string().min(1),
  expect: z
    .union([
      z.enum(['non-empty', 'zero-rows']),
      z.strictObject({ equals: z.union([z.string(), z.number(), z.boolean(), z.null()]) }),
    ])
    .default('non-empty'),
});

export const appSchema = z.strictObject({
  deploy: hookSchema.optional(),
  rollback: hookSchema.optional(),
  versionUrl: httpUrl.optional(),
  /** JSON metrics of the application (`errorRatePercent`, or `requests` and `errors`). */
  metricsUrl: httpUrl.optional(),
});

export const DEFAULT_REQUIRED_ROLES = ['engineering-lead', 'product-owner', 'devops'];
export const DEFAULT_HIGH_RISK_ROLES = ['executive'];

export const approvalsSchema = z.strictObject({
  requiredRoles: z.array(z.string().min(1)).default(() => [...DEFAULT_REQUIRED_ROLES]),
  highRiskRoles: z.array(z.string().min(1)).default(() => [...DEFAULT_HIGH_RISK_ROLES]),
  /** role → the people who hold it; `"*"` opens a role to anyone (still one person per role). */
  roster: z.record(z.string().min(1), z.array(z.string().min(1))).default(() => ({})),
  expiry: duration('24h').default('24h'),
  reminderEvery: duration('4h').default('4h'),
  allowInitiator: z.boolean().default(false),
  /** OpenSSH allowed-signers file of the approvers' keys, relative to the config file. */
  allowedSigners: z.string().min(1).optional(),
  /** Refuse unsigned decisions; default (src/config/signatures.ts): true for a production tier. */
  requireSignatures: z.boolean().optional(),
});

export const thresholdsSchema = z.strictObject({
  errorRatePercent: z.number().min(0).max(100).default(5),
  responseTimeMs: z.number().positive().default(2000),
  dbConnectionsPercent: z.number().min(0).max(100).default(80),
  performanceDegradationPercent: z.number().min(0).default(50),
  consecutiveHealthFailures: z.number().int().positive().default(3),
});

export const notifySchema = z.strictObject({
  webhookUrlEnv: envVarName.optional(),
  webhookUrl: httpUrl.optional(),
});

export const emergencySchema = z.strictObject({
  requireApprovalForDataLoss: z.boolean().default(true),
  /** Who may approve a data-losing rollback; when absent, anyone on the approvals roster. */
  approvers: z.array(z.string().min(1)).optional(),
  postMortemDueIn: duration('72h').default('72h'),
  /**
   * A full rollback by restore keeps the replaced database, archives it with pg_dump, then
   * drops it; true keeps it as well.
   */
  keepPreservedDatabase: z.boolean().default(false),
});

export const rehearsalSchema = z.strictObject({
  /** How many of the newest migrations the rehearsal rolls back and re-applies. */
  rollbackDepth: z.number().int().min(0).default(2),
});

/**
 * The most threshold samples one watch may take. Each sample adds about a dozen events to the
 * workflow's history (activity, timer, workflow tasks); Temporal ends a run at 50 000 events,
 * which would stop a deploy in its monitoring window, with no compensation.
 */
export const MAX_MONITORING_SAMPLES = 2000;

export const environmentSchema = z
  .strictObject({
    /** Name of the variable that holds the database URL; default `<NAME>_DATABASE_URL`. */
    databaseUrlEnv: envVarName.optional(),
    /** production | staging | development; default production for `production` (see ENVIRONMENT_TIERS). */
    tier: z.enum(['production', 'staging', 'development']).optional(),
    lockTimeout: duration('200ms').default('200ms'),
    lockWait: duration('10m').default('10m'),
    cancelBlockersAfter: duration('2m').optional(),
    terminateIdleBlockersAfter: duration('2m').optional(),
    statementTimeout: duration('15min').default('15min'),
    /** A production deploy requires a passing rehearsal certificate from this environment. */
    requireRehearsalFrom: z.string().min(1).nullable().optional(),
    healthChecks: z.array(healthCheckSchema).default(() => []),
    criticalTables: z.array(z.string().min(1)).default(() => []),
    checks: z.array(sqlCheckSchema).default(() => []),
    app: appSchema.default(() => ({})),
    approvals: approvalsSchema.default(() => approvalsSchema.parse({})),
    thresholds: thresholdsSchema.default(() => thresholdsSchema.parse({})),
    monitoringWindow: duration('10m').default('10m'),
    monitoringInterval: duration('15s').default('15s'),
    rollbackWindow: duration('5m').default('5m'),
    notify: notifySchema.default(() => ({})),
    emergency: emergencySchema.default(() => emergencySchema.parse({})),
    rehearsal: rehearsalSchema.default(() => rehearsalSchema.parse({})),
  })
  .superRefine((settings, ctx) => {
    const interval = tryParseDuration(settings.monitoringInterval);
    if (!interval) return;
    for (const key of ['monitoringWindow', 'rollbackWindow'] as const) {
      const window = tryParseDuration(settings[key]);
      if (window === undefined || window / interval <= MAX_MONITORING_SAMPLES) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `${settings[key]} sampled every ${settings.monitoringInterval} (monitoringInterval) is ${Math.ceil(window / interval)} samples, over ${MAX_MONITORING_SAMPLES}: Temporal would end the run when its history passes 50 000 events; sample less often or watch for less time`,
      });
    }
  });

/** Lowercase only, so that `Production` can never alias `production`. */
export const ENVIRONMENT_NAME = /^[a-z0-9][a-z0-9_-]*$/;
export const ENVIRONMENT_NAME_RULE =
  'environment names use lowercase letters, digits, - and _ (e.g. "staging", "eu-prod")';

export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  migrationsDir: z.string().min(1).default('migrations'),
  reportsDir: z.string().min(1).default('.pgshift/reports'),
  backupsDir: z.string().min(1).default('.pgshift/backups'),
  environments: z
    .record(z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE), environmentSchema)
    .default(() => ({})),
});

export type CommandHook = z.output<typeof commandHookSchema>;
export type HttpHook = z.output<typeof httpHookSchema>;
export type Hook = z.output<typeof hookSchema>;
export type HealthCheck = z.output<typeof healthCheckSchema>;
export type SqlCheck = z.output<typeof sqlCheckSchema>;
export type ApprovalsConfig = z.output<typeof approvalsSchema>;
export type Thresholds = z.output<typeof thresholdsSchema>;
export type NotifyTarget = z.output<typeof notifySchema>;
export type EmergencyConfig = z.output<typeof emergencySchema>;

/** An environment's settings with every default filled, including the name-dependent ones. */
export type EnvironmentConfig = Omit<
  z.output<typeof environmentSchema>,
  'databaseUrlEnv' | 'requireRehearsalFrom' | 'tier'
> & {
  name: string;
  databaseUrlEnv: string;
  requireRehearsalFrom: string | null;
  tier: EnvironmentTier;
};

export type EnvironmentTier = 'production' | 'staging' | 'development';

/** The whole config after loading: defaults filled, environments completed. */
export type PgshiftConfig = Omit<z.output<typeof configSchema>, 'environments'> & {
  environments: Record<string, EnvironmentConfig>;
  /** The file it came from, or null when no file exists (every setting by convention). */
  source: string | null;
};

/** The config as written in the file (what an editor sees; every default optional). */
export type PgshiftConfigInput = z.input<typeof configSchema>;
