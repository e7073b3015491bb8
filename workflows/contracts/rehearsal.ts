/** `stagingRehearsal`: its id, input and result. */
import { z } from 'zod';
import { person } from './approvals';
import { shortChecksum } from './names';
import { migrationPlanSchema } from './plan';
import { stepSchema } from './progress';

/** `rehearsal-staging-3f2a9c1b7d4e`: one rehearsal per environment and plan at a time. */
export function rehearsalWorkflowId(environment: string, planChecksum: string): string {
  return `rehearsal-${environment}-${shortChecksum(planChecksum)}`;
}

export const stagingRehearsalInputSchema = z.object({
  environment: z.string().min(1),
  plan: migrationPlanSchema,
  initiator: person,
  options: z
    .object({
      /** Versions to roll back to and verify; default: the last `rollbackDepth` migrations and the version before this release. */
      rollbackTargets: z.array(z.number().int().nonnegative()).optional(),
      rollbackDepth: z.number().int().nonnegative().optional(),
      skipFunctionalChecks: z.boolean().optional(),
    })
    .default({}),
});
export type StagingRehearsalInput = z.input<typeof stagingRehearsalInputSchema>;

export const REHEARSAL_FINAL_STATES = ['passed', 'failed'] as const;

export const criterionSchema = z.object({
  name: z.string(),
  status: z.enum(['passed', 'failed', 'skipped']),
  detail: z.string(),
});
export type Criterion = z.infer<typeof criterionSchema>;

export const rehearsalCertificateSchema = z.object({
  environment: z.string(),
  planChecksum: z.string(),
  workflowId: z.string(),
  at: z.string(),
});
export type RehearsalCertificate = z.infer<typeof rehearsalCertificateSchema>;

/** What `stagingRehearsal` returns: every field, nothing else. */
export const stagingRehearsalResultSchema = z.strictObject({
  finalState: z.enum(REHEARSAL_FINAL_STATES),
  environment: z.string(),
  planChecksum: z.string(),
  criteria: z.array(criterionSchema),
  steps: z.array(stepSchema),
  certificate: rehearsalCertificateSchema.optional(),
  reportPath: z.string().optional(),
  /** `Type: message` of what failed. */
  failure: z.string().optional(),
  /** How staging was brought back after a failure (files, else the backup). */
  compensation: z.string().optional(),
  /** The backup taken before anything changed. */
  backupId: z.string().optional(),
  /** The version staging was at before the rehearsal, and where it ended. */
  fromVersion: z.number(),
  toVersion: z.number(),
});
export type StagingRehearsalResult = z.infer<typeof stagingRehearsalResultSchema>;
