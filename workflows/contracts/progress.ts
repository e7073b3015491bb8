/** The steps of a run and the `progress` query every workflow kind answers. */
import { defineQuery } from '@temporalio/workflow';
import { z } from 'zod';

export const STEP_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'skipped',
  'compensated',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const stepSchema = z.object({
  name: z.string(),
  status: z.enum(STEP_STATUSES),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  detail: z.string().optional(),
});
export type Step = z.infer<typeof stepSchema>;

/** What the `progress` query returns, for every workflow kind. */
export const progressSchema = z.object({
  workflowKind: z.enum([
    'stagingRehearsal',
    'productionDeploy',
    'emergencyRollback',
    'archivePreservedDatabase',
  ]),
  environment: z.string(),
  phase: z.string(),
  steps: z.array(stepSchema),
  currentDetails: z.string(),
  finalState: z.string().optional(),
});
export type Progress = z.infer<typeof progressSchema>;

export const progressQuery = defineQuery<Progress>('progress');
