/** The migration plan as workflow inputs carry it. */
import { z } from 'zod';
import type { MigrationPlan } from '../../src/migrations/types';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex checksum');

const sqlFileSchema = z.looseObject({ file: z.string().min(1), sql: z.string(), checksum: sha256 });

/**
 * The plan as it travels in a workflow input: the files themselves and their checksums.
 * Loose objects: fields added to the types later pass through instead of being stripped.
 */
export const migrationPlanSchema: z.ZodType<MigrationPlan> = z.looseObject({
  checksum: sha256,
  migrations: z.array(
    z.looseObject({
      version: z.number().int().nonnegative(),
      name: z.string().min(1),
      forward: sqlFileSchema.extend({
        header: z.looseObject({
          migration: z.string(),
          description: z.string(),
          author: z.string(),
          date: z.string(),
        }),
        transactional: z.boolean(),
      }),
      rollback: sqlFileSchema.extend({
        header: z.looseObject({
          rollback: z.string(),
          reverses: z.string(),
          author: z.string(),
          date: z.string(),
        }),
        transactional: z.boolean(),
      }),
      highRisk: z.boolean(),
    }),
  ),
});
