/** The migration plan as workflow inputs carry it. */
import { z } from 'zod';
import type { PlanRef } from '../../src/migrations/types';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex checksum');

/**
 * A file of the plan: name, checksum (its key in the plan store) and transaction flag. `sql`
 * is present only in the inputs of runs started before the plan store (and their recorded
 * histories); the activities load the SQL by checksum otherwise.
 */
const planFileSchema = z.looseObject({
  file: z.string().min(1),
  checksum: sha256,
  /** Absent: true. */
  transactional: z.boolean().optional(),
  sql: z.string().optional(),
});

/**
 * The plan as it travels in a workflow input: names, versions, flags and per-file checksums,
 * never the SQL (the CLI stored the files in the plan store; see src/migrations/plan-store.ts).
 * An input that still carries the files' SQL (and headers) is accepted as before.
 * Loose objects: fields added to the types later pass through instead of being stripped.
 */
export const migrationPlanSchema: z.ZodType<PlanRef> = z.looseObject({
  checksum: sha256,
  migrations: z.array(
    z.looseObject({
      version: z.number().int().nonnegative(),
      name: z.string().min(1),
      forward: planFileSchema,
      rollback: planFileSchema,
      /** Absent: false. */
      highRisk: z.boolean().optional(),
    }),
  ),
});
