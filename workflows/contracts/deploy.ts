/** `productionDeploy`: its id, input, result and messages. */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import {
  approvalStateSchema,
  person,
  reasonFor,
  signedFields,
  type ApprovalPayload,
  type ApprovalUpdateResult,
  type CancelPayload,
  type RejectPayload,
} from './approvals';
import { positiveDurationSchema } from './durations';
import { shortChecksum } from './names';
import { migrationPlanSchema } from './plan';
import { stepSchema } from './progress';

/** `deploy-production-3f2a9c1b7d4e`: one deploy per environment and plan at a time. */
export function deployWorkflowId(environment: string, planChecksum: string): string {
  return `deploy-${environment}-${shortChecksum(planChecksum)}`;
}

// ── messages (the `approvals` and `progress` queries are shared: approvals.ts, progress.ts) ──

export const approveSignal = defineSignal<[ApprovalPayload]>('approve');
export const rejectSignal = defineSignal<[RejectPayload]>('reject');
export const cancelDeploySignal = defineSignal<[CancelPayload]>('cancelDeploy');

/** Same payload and policy as `approve`, but the caller learns at once whether it counted. */
export const submitApprovalUpdate = defineUpdate<ApprovalUpdateResult, [ApprovalPayload]>(
  'submitApproval',
);
export const submitRejectionUpdate = defineUpdate<ApprovalUpdateResult, [RejectPayload]>(
  'submitRejection',
);

// ── input ──

/**
 * `--accept-changed-rollback "<reason>"`: the operator accepts rollback files whose checksum
 * differs from the one the ledger recorded at apply time (recorded in pgshift.repairs).
 */
export const acceptChangedRollbackSchema = z.object({
  reason: reasonFor('accepting a changed rollback file'),
});

/** A recorded reason and who gave it (a rehearsal waiver, a break-glass). */
export const reasonBySchema = z.strictObject({ reason: z.string(), by: z.string() });

export const productionDeployInputSchema = z.object({
  environment: z.string().min(1),
  plan: migrationPlanSchema,
  initiator: person,
  /** The initiator's signed `initiate-deploy` statement. */
  ...signedFields,
  options: z
    .object({
      /** Deploy without a rehearsal certificate; the reason is recorded and notified. */
      waiveRehearsal: z.object({ reason: z.string().trim().min(1), ...signedFields }).optional(),
      /** Application version to deploy with the configured hook (`{version}` in its arguments). */
      appVersion: z.string().min(1).optional(),
      /** Treat as high risk (executive approval) whatever validation finds. */
      highRisk: z.boolean().optional(),
      /** Overrides of the environment's config, e.g. '2m' for demos and tests (refused at start when malformed). */
      monitoringWindow: positiveDurationSchema.optional(),
      monitoringInterval: positiveDurationSchema.optional(),
      approvalExpiry: positiveDurationSchema.optional(),
      /** Compensation may run rollback files changed since applied (reason recorded; approved with the deploy). */
      acceptChangedRollback: acceptChangedRollbackSchema.optional(),
    })
    .default({}),
});
export type ProductionDeployInput = z.input<typeof productionDeployInputSchema>;

// ── result ──

/**
 * What a deploy or rollback changed: the database's versions before and after, the backup it
 * took, the application's versions (a deploy's result, a pgshift.deployments row).
 */
export const changeFields = {
  fromVersion: z.number().optional(),
  toVersion: z.number().optional(),
  backupId: z.string().optional(),
  appVersionBefore: z.string().optional(),
  appVersionAfter: z.string().optional(),
};

export const DEPLOY_FINAL_STATES = [
  /** Applied, verified, and within the thresholds for the whole monitoring window. */
  'completed',
  /** An approver rejected it, or it was cancelled before any change. */
  'rejected',
  /** The approval window closed first; nothing was changed. */
  'approval-expired',
  /** A trigger fired (or a cancellation came) after a change, and compensation undid it. */
  'rolled-back',
  /** Compensation itself failed: a person must look. */
  'failed-needs-attention',
] as const;
export type DeployFinalState = (typeof DEPLOY_FINAL_STATES)[number];

/** What `productionDeploy` returns: every field, nothing else. */
export const productionDeployResultSchema = z.strictObject({
  finalState: z.enum(DEPLOY_FINAL_STATES),
  environment: z.string(),
  planChecksum: z.string(),
  /** Why it ended this way (the trigger of a rollback, who rejected, what needs attention). */
  reason: z.string().optional(),
  approvals: approvalStateSchema.optional(),
  steps: z.array(stepSchema),
  /** The version before the deploy and where it ended (completed or rolled back); the backup; the application. */
  ...changeFields,
  /** The plan's newest version. */
  targetVersion: z.number().optional(),
  rehearsalWaiver: reasonBySchema.optional(),
  /** The rollback trigger that fired (`migration-failure`, `error-rate`, `cancelled`, …). */
  trigger: z.string().optional(),
  /** What compensation did. */
  compensation: z.string().optional(),
  highRisk: z.boolean().optional(),
  riskReasons: z.array(z.string()).optional(),
  reportPath: z.string().optional(),
});
export type ProductionDeployResult = z.infer<typeof productionDeployResultSchema>;
