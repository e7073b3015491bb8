import { z } from 'zod';
import { DURATION_PATTERN } from './duration';

/**
 * The zod schema of `fleets.<name>`: a named set of databases (environments) that one plan is
 * rolled out to in waves by one parent workflow (workflows/fleet). Members are environment
 * NAMES; each one's URL is resolved by the worker as for any environment
 * (`<NAME>_DATABASE_URL` by convention, or `environments.<name>.databaseUrlEnv`).
 */

const duration = (example: string) =>
  z
    .string()
    .regex(
      new RegExp(DURATION_PATTERN),
      `expected a duration such as '500ms', '15s', '10m', '24h' (e.g. '${example}')`,
    );

/** `25%`, `100%`, `2.5%`: a share of the fleet. */
export const SHARE_PATTERN = /^(?:100|\d{1,2}(?:\.\d+)?)%$/;
const share = z.string().regex(SHARE_PATTERN, 'expected a share such as "25%" or "100%"');

const memberName = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected an environment name');

export const fleetCatalogueSchema = z.strictObject({
  databaseUrlEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the NAME of an environment variable')
    .describe(
      'NAME of the environment variable holding the URL of the catalogue database (never the URL itself).',
    ),
  query: z
    .string()
    .min(1)
    .describe(
      'Read-only query whose first column yields the member environment names, in rollout order (e.g. `SELECT env_name FROM tenants WHERE active ORDER BY id`).',
    ),
});

/**
 * The schema of one fleet, given the approvals schema of an environment (src/config/schema.ts
 * passes it: the same keys and defaults; `requireSignatures` defaults from the members' tiers).
 */
export function fleetSchemaWith<A extends z.ZodObject>(approvals: A) {
  return z
    .strictObject({
      environments: z
        .array(memberName)
        .min(1)
        .optional()
        .describe(
          'The member environments, in rollout order (each resolved by the worker: `<NAME>_DATABASE_URL` by convention). Exactly one of `environments`, `catalogue`, `file`.',
        ),
      catalogue: fleetCatalogueSchema
        .optional()
        .describe(
          'Members read by the worker from a catalogue database at the start of a rollout.',
        ),
      file: z
        .string()
        .min(1)
        .optional()
        .describe(
          'Path (relative to this config file) of a text file naming one member environment per line, in rollout order (`#` starts a comment).',
        ),
      approvals: approvals
        .default(() => approvals.parse({}) as never)
        .describe(
          'One set of approvals for the whole fleet (the keys of an environment’s `approvals`, signed approvals included: `allowedSigners` is the fleet’s own file).',
        ),
      waves: z
        .array(z.union([z.number().int().positive(), share]))
        .min(1)
        .default(() => ['100%'])
        .describe(
          'Cumulative wave sizes over the members in order: `[1, "25%", "100%"]` is a canary of one database, then up to a quarter, then the rest. Databases left after the last entry form one more wave.',
        ),
      betweenWaves: z
        .union([z.literal('continue'), z.literal('approval'), duration('10m')])
        .default('continue')
        .describe(
          '`continue` (the next wave starts at once), a duration such as `"10m"` (a pause), or `"approval"` (waits for `pgshift fleet resume <fleet>` by someone on the approvals roster).',
        ),
      concurrency: z
        .number()
        .int()
        .positive()
        .max(1000)
        .default(4)
        .describe('How many databases are deployed at once.'),
      failureBudget: z
        .union([z.number().int().nonnegative(), share])
        .default(0)
        .describe(
          'Failures tolerated (a count, or a share of the fleet such as "5%") before the rollout halts: once more databases than this fail, no new database and no later wave starts. Failed databases are compensated; finished ones stay.',
        ),
      monitoringWindow: duration('10m')
        .optional()
        .describe("Each database's monitoring window (default: the environment's own)."),
      monitoringInterval: duration('15s')
        .optional()
        .describe("Time between monitoring samples (default: the environment's own)."),
      rollbackWindow: duration('24h')
        .default('24h')
        .describe(
          'After the last wave, how long the rollout stays open for `pgshift rollback --fleet` before it completes.',
        ),
    })
    .superRefine((fleet, ctx) => {
      const sources = (['environments', 'catalogue', 'file'] as const).filter(
        (key) => fleet[key] !== undefined,
      );
      if (sources.length !== 1)
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `a fleet names its members with exactly one of environments, catalogue or file (found ${sources.length ? sources.join(' and ') : 'none'})`,
        });
    });
}
