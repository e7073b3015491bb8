import { z } from 'zod';
import { DURATION_PATTERN, tryParseDuration } from './duration';
import { fleetSchemaWith } from './fleet-schema';

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

/** A group of settings that may be left out: then every setting in it takes its default. */
function section<Group extends z.ZodObject>(schema: Group, description: string) {
  return schema.default(() => schema.parse({}) as never).describe(description);
}

const envVarName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'expected the NAME of an environment variable (letters, digits, _), not its value',
  );

const httpUrl = z.string().regex(/^https?:\/\/\S+$/, 'expected an http:// or https:// URL');

const hookTimeoutMs = z
  .number()
  .int()
  .positive()
  .default(120_000)
  .describe('The hook fails after this long.');

/** An application hook run with execFile (argument list, never a shell string). */
export const commandHookSchema = z.strictObject({
  command: z
    .array(z.string())
    .min(
      1,
      'expected the program and its arguments, e.g. ["node", "dist/example-app/hook.js", "deploy", "{version}"]',
    )
    .describe('Program and arguments (no shell); `{version}` is replaced by the version.'),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe('Extra environment variables for the command.'),
  cwd: z.string().optional().describe('Working directory of the command.'),
  timeoutMs: hookTimeoutMs,
});

/** An application hook that is an HTTP request with a JSON body. */
export const httpHookSchema = z.strictObject({
  url: httpUrl.describe(
    "URL receiving a POST/PUT whose JSON body holds the hook's variables (`version`); `{version}` in the URL is replaced too.",
  ),
  method: z.enum(['POST', 'PUT']).default('POST').describe('HTTP method of the request.'),
  headers: z
    .record(z.string(), z.string())
    .optional()
    .describe('Extra HTTP headers of the request.'),
  timeoutMs: hookTimeoutMs,
});

export const hookSchema = z.union([commandHookSchema, httpHookSchema]);

export const healthCheckSchema = z.strictObject({
  name: z.string().min(1).describe('Name shown in reports and the CLI.'),
  url: httpUrl.describe('URL fetched with GET (http:// or https://).'),
  maxLatencyMs: z
    .number()
    .int()
    .positive()
    .default(2000)
    .describe('Slower answers count as failures (the guide: response time > 2 s).'),
  expectStatus: z.number().int().min(100).max(599).default(200).describe('Expected HTTP status.'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Give up on the request after this long.'),
});

export const sqlCheckSchema = z.strictObject({
  name: z.string().min(1).describe('Name shown in reports and the CLI.'),
  sql: z
    .string()
    .min(1)
    .describe('The query, run in a READ ONLY transaction with a statement timeout.'),
  expect: z
    .union([
      z.enum(['non-empty', 'zero-rows']),
      z.strictObject({
        equals: z
          .union([z.string(), z.number(), z.boolean(), z.null()])
          .describe('The value the first column of the first row must equal.'),
      }),
    ])
    .default('non-empty')
    .describe(
      '"non-empty" (at least one row), "zero-rows", or `{ "equals": value }` (first column of the first row).',
    ),
});

export const appSchema = z.strictObject({
  deploy: hookSchema
    .optional()
    .describe(
      'Hook that deploys the application version: a command (`{ "command": [...] }`, run with execFile, `{version}` replaced) or an HTTP request (`{ "url": ... }`).',
    ),
  rollback: hookSchema
    .optional()
    .describe(
      'Hook that rolls the application back; same forms as `deploy`. `{version}` is the version to go back to (empty when unknown): a hook that goes to that version and treats already being there as success is safe to retry after a worker crash.',
    ),
  versionUrl: httpUrl
    .optional()
    .describe('URL answering the running application version (JSON `{ "version": ... }`).'),
  metricsUrl: httpUrl
    .optional()
    .describe(
      'JSON metrics of the application (`errorRatePercent`, or `requests` and `errors`) for the error-rate trigger.',
    ),
});

export const DEFAULT_REQUIRED_ROLES = ['engineering-lead', 'product-owner', 'devops'];
export const DEFAULT_HIGH_RISK_ROLES = ['executive'];

export const approvalsSchema = z.strictObject({
  requiredRoles: z
    .array(z.string().min(1))
    .default(() => [...DEFAULT_REQUIRED_ROLES])
    .describe('Roles that must each approve (one distinct person per role).'),
  highRiskRoles: z
    .array(z.string().min(1))
    .default(() => [...DEFAULT_HIGH_RISK_ROLES])
    .describe(
      'Extra roles for high-risk changes (destructive or lock-heavy statements, or a migration marked high-risk).',
    ),
  roster: z
    .record(z.string().min(1), z.array(z.string().min(1)))
    .default(() => ({}))
    .describe('Role → the people who hold it; `"*"` opens a role to anyone.'),
  expiry: duration('24h')
    .default('24h')
    .describe('A deploy not fully approved by then ends as approval-expired with no change made.'),
  reminderEvery: duration('4h')
    .default('4h')
    .describe('Reminder to the notification hook while approvals are missing.'),
  allowInitiator: z
    .boolean()
    .default(false)
    .describe('Whether the person who started a deploy may approve it.'),
  allowedSigners: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Path (relative to this config file) of an OpenSSH allowed-signers file, the format git uses for SSH signing: `<person> ssh-ed25519 AAAA…` per line (also `sk-ssh-ed25519@openssh.com`; `namespaces=`, `valid-after=`, `valid-before=` honoured). Approvals, rejections, cancels, break-glass, waivers and starts signed with `ssh-keygen -Y sign -n pgshift` are verified against it; a key removed from the file is revoked.',
    ),
  /** The default (src/config/signatures.ts) depends on the tier. */
  requireSignatures: z
    .boolean()
    .optional()
    .describe(
      'Refuse decisions that are not signed by a key in `allowedSigners`. Default: true for a production environment, false otherwise.',
    ),
});

export const thresholdsSchema = z.strictObject({
  errorRatePercent: z
    .number()
    .min(0)
    .max(100)
    .default(5)
    .describe('Roll back when the application error rate exceeds this.'),
  responseTimeMs: z
    .number()
    .positive()
    .default(2000)
    .describe('Roll back when health-check latency exceeds this.'),
  dbConnectionsPercent: z
    .number()
    .min(0)
    .max(100)
    .default(80)
    .describe('Roll back when connections exceed this share of max_connections.'),
  performanceDegradationPercent: z
    .number()
    .min(0)
    .default(50)
    .describe(
      'Roll back when probe latency is this much worse than the baseline measured before the deploy.',
    ),
  consecutiveHealthFailures: z
    .number()
    .int()
    .positive()
    .default(3)
    .describe('Roll back after this many failing health checks in a row.'),
});

export const notifySchema = z.strictObject({
  webhookUrlEnv: envVarName
    .optional()
    .describe(
      'NAME of the environment variable holding the webhook URL (keeps the secret out of the file).',
    ),
  webhookUrl: httpUrl.optional().describe('The webhook URL itself (only when it is not a secret).'),
});

export const emergencySchema = z.strictObject({
  requireApprovalForDataLoss: z
    .boolean()
    .default(true)
    .describe('A rollback that would lose data waits for one approval (unless break-glass).'),
  approvers: z
    .array(z.string().min(1))
    .optional()
    .describe('Who may approve a data-losing rollback; default: anyone on the approvals roster.'),
  postMortemDueIn: duration('72h')
    .default('72h')
    .describe('Due date of the post-mortem written in the incident document.'),
  keepPreservedDatabase: z
    .boolean()
    .default(false)
    .describe(
      'A full rollback by restore keeps the database it replaced (renamed `<database>_pre_<id>`, with every write up to the swap) and archives it with pg_dump as the emergency backup; by default the kept database is dropped once the archive is complete, true keeps it too.',
    ),
});

export const rehearsalSchema = z.strictObject({
  rollbackDepth: z
    .number()
    .int()
    .min(0)
    .default(2)
    .describe('How many of the newest migrations the rehearsal rolls back and re-applies.'),
});

/**
 * The most threshold samples one watch may take. Each sample adds about a dozen events to the
 * workflow's history (activity, timer, workflow tasks); Temporal ends a run at 50 000 events,
 * which would stop a deploy in its monitoring window, with no compensation.
 */
export const MAX_MONITORING_SAMPLES = 2000;

export const environmentSchema = z
  .strictObject({
    /** Completed in load.ts when absent. */
    databaseUrlEnv: envVarName
      .optional()
      .describe(
        'NAME of the environment variable holding the database URL (never the URL itself). Default: `<NAME>_DATABASE_URL`, e.g. `STAGING_DATABASE_URL`.',
      ),
    /** Completed in load.ts when absent. */
    tier: z
      .enum(['production', 'staging', 'development'])
      .optional()
      .describe(
        '`production`, `staging` or `development`, enforced by the worker: a staging rehearsal refuses a production-tier environment, and a data-losing emergency rollback there needs an approval. Default: `production` for the environment named production and for any environment with `requireRehearsalFrom`, otherwise `staging`.',
      ),
    lockTimeout: duration('200ms')
      .default('200ms')
      .describe(
        'lock_timeout of each attempt to apply a migration: an attempt never makes traffic queue behind it for longer; a timed-out attempt is retried (backoff with jitter) within `lockWait`.',
      ),
    lockWait: duration('10m')
      .default('10m')
      .describe(
        'How long one migration may wait for locks other sessions hold, over all attempts. pgshift waits without queueing while it sees a conflicting session (and names it); when the budget is spent the migration fails with LockWaitTimeoutError naming the blockers.',
      ),
    cancelBlockersAfter: duration('2m')
      .optional()
      .describe(
        'Opt-in: cancel (pg_cancel_backend) an active query that has blocked a migration this long. Never by default; every cancellation is reported and recorded in pgshift.blocker_actions.',
      ),
    terminateIdleBlockersAfter: duration('2m')
      .optional()
      .describe(
        'Opt-in: terminate (pg_terminate_backend) an idle-in-transaction session that has blocked a migration this long. Never by default; recorded in pgshift.blocker_actions.',
      ),
    statementTimeout: duration('15min')
      .default('15min')
      .describe('statement_timeout set for every migration.'),
    /** Completed in load.ts when absent. */
    requireRehearsalFrom: z
      .string()
      .min(1)
      .nullable()
      .optional()
      .describe(
        'A production deploy requires a passing rehearsal of the same plan on this environment (null: none). Default: "staging" for the environment named production, otherwise none.',
      ),
    healthChecks: z
      .array(healthCheckSchema)
      .default(() => [])
      .describe(
        'HTTP health checks of the application (post-deployment verification, monitoring window).',
      ),
    criticalTables: z
      .array(z.string().min(1))
      .default(() => [])
      .describe(
        'Tables whose row counts must not drop across a deploy (`schema.table` or `table`).',
      ),
    checks: z
      .array(sqlCheckSchema)
      .default(() => [])
      .describe('SQL checks run read-only after a deploy and in rehearsals.'),
    app: appSchema.default(() => ({})).describe('The application deployed with the migrations.'),
    approvals: section(
      approvalsSchema,
      'Who must approve a production deploy, and for how long a deploy waits.',
    ),
    thresholds: section(
      thresholdsSchema,
      "The guide's immediate-rollback triggers, watched during the monitoring window.",
    ),
    monitoringWindow: duration('10m')
      .default('10m')
      .describe('How long a deploy watches the thresholds after migrating before it completes.'),
    monitoringInterval: duration('15s')
      .default('15s')
      .describe(
        'Time between two samples of the monitoring window (and of the rollback watch); a window may hold at most 2000 samples.',
      ),
    rollbackWindow: duration('5m')
      .default('5m')
      .describe('How long an emergency rollback watches the thresholds afterwards.'),
    notify: notifySchema
      .default(() => ({}))
      .describe('Where notifications go (Slack-compatible JSON webhook).'),
    emergency: section(emergencySchema, 'Emergency rollback policy.'),
    rehearsal: section(rehearsalSchema, 'Staging rehearsal settings.'),
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

export const fleetSchema = fleetSchemaWith(
  approvalsSchema.extend({
    requireSignatures: z
      .boolean()
      .optional()
      .describe(
        "Refuse fleet decisions (approvals, rejections, resume, rollback, the start) that are not signed by a key in this fleet's `allowedSigners`. Default: true when any member is a production-tier environment that requires signatures (`false` cannot switch that off), false otherwise.",
      ),
  }),
);
export type FleetConfig = z.output<typeof fleetSchema>;

export const configSchema = z.strictObject({
  $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
  migrationsDir: z
    .string()
    .min(1)
    .default('migrations')
    .describe('Folder of the numbered migration files and their rollback files.'),
  reportsDir: z
    .string()
    .min(1)
    .default('.pgshift/reports')
    .describe('Where rehearsal, deployment and incident reports are written.'),
  backupsDir: z
    .string()
    .min(1)
    .default('.pgshift/backups')
    .describe(
      'Where pg_dump backups and their manifests are kept (files readable by the owner only).',
    ),
  plansDir: z
    .string()
    .min(1)
    .default('.pgshift/plans')
    .describe(
      "The plan store: where the CLI stores each plan's files once, named by their sha256, and where every worker reads and verifies them (workflows carry checksums, never SQL). With several workers, a volume the CLI and every worker share, like backupsDir.",
    ),
  environments: z
    .record(
      z.string().regex(ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE),
      environmentSchema.describe('One environment, e.g. "staging" or "production".'),
    )
    .default(() => ({}))
    .describe(
      'Settings per environment name (lowercase letters, digits, - and _, so `Production` can never alias `production`). An environment not listed here still works with every default.',
    ),
  fleets: z
    .record(
      z.string().regex(ENVIRONMENT_NAME, 'fleet names use lowercase letters, digits, - and _'),
      fleetSchema.describe('One fleet, e.g. "tenants".'),
    )
    .default(() => ({}))
    .describe(
      'Named sets of databases that `pgshift deploy --fleet <name>` rolls one plan out to, in waves (see Fleets).',
    ),
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
