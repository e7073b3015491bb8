/**
 * The one shared vocabulary of pgshift's workflows: names, signals, queries, updates, the zod
 * schemas of their payloads, and workflow inputs and results. Imported by the workflows (inside
 * the Temporal sandbox) and by clients (CLI, tests), so it imports only `@temporalio/workflow`
 * and `zod`, and types. Nothing here may carry a credential: environments travel by NAME.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { tryParseDuration } from '../src/config/duration';
import type { PlanRef } from '../src/migrations/types';

// ───────────────────────────── names ─────────────────────────────

export const DEFAULT_TASK_QUEUE = 'pgshift';

export const WORKFLOW_TYPES = {
  stagingRehearsal: 'stagingRehearsal',
  productionDeploy: 'productionDeploy',
  emergencyRollback: 'emergencyRollback',
  archivePreservedDatabase: 'archivePreservedDatabase',
} as const;
export type WorkflowKind = keyof typeof WORKFLOW_TYPES;

const shortChecksum = (checksum: string) => checksum.slice(0, 12);

/** `rehearsal-staging-3f2a9c1b7d4e`: one rehearsal per environment and plan at a time. */
export function rehearsalWorkflowId(environment: string, planChecksum: string): string {
  return `rehearsal-${environment}-${shortChecksum(planChecksum)}`;
}

/** `deploy-production-3f2a9c1b7d4e`: one deploy per environment and plan at a time. */
export function deployWorkflowId(environment: string, planChecksum: string): string {
  return `deploy-${environment}-${shortChecksum(planChecksum)}`;
}

/** `rollback-production-20250101T120000Z`: the incident id of a rollback, named by when it was asked for. */
export function incidentIdFor(environment: string, requestedAtMs: number): string {
  const stamp = new Date(requestedAtMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `rollback-${environment}-${stamp}`;
}

/** The child workflow that archives the database a full rollback replaced. */
export function archiveWorkflowId(incidentId: string): string {
  return `${incidentId}-archive`;
}

/** The id of the lock that lets only one deploy or rollback act on an environment at a time. */
export function environmentLockId(environment: string): string {
  return `pgshift-lock-${environment}`;
}

// ───────────────────────────── plan ─────────────────────────────

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex checksum');

/**
 * A file of the plan: name, checksum (its key in the plan store) and transaction flag. `sql`
 * is present only in the inputs of runs started before the plan store (and their recorded
 * histories); the activities load the SQL by checksum otherwise.
 */
const planFileSchema = z.looseObject({
  file: z.string().min(1),
  checksum: sha256,
  transactional: z.boolean(),
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
      highRisk: z.boolean(),
    }),
  ),
});

// ───────────────────────────── approvals ─────────────────────────────

const person = z.string().trim().min(1, 'expected a name').max(200);

/** A signed decision: the canonical statement and its `ssh-keygen -Y sign -n pgshift` signature. */
const signedFields = {
  statement: z.string().max(5000).optional(),
  signature: z.string().max(5000).optional(),
};

/** `approve` signal and `submitApproval` update: one role granted by one person for one plan. */
export const approvalPayloadSchema = z.object({
  role: z.string().trim().min(1, 'expected a role').max(100),
  approver: person,
  comment: z.string().max(2000).optional(),
  /** The plan this approval is for (full checksum or a prefix of at least 8 hex digits). */
  planChecksum: z
    .string()
    .regex(/^[0-9a-f]{8,64}$/, 'expected the plan checksum (at least 8 hex digits)')
    .optional(),
  ...signedFields,
});
export type ApprovalPayload = z.infer<typeof approvalPayloadSchema>;

/** `reject` signal and `submitRejection` update: ends a waiting deploy with no change made. */
export const rejectPayloadSchema = z.object({
  approver: person,
  reason: z.string().trim().min(1, 'a rejection needs a reason').max(2000),
  ...signedFields,
});
export type RejectPayload = z.infer<typeof rejectPayloadSchema>;

/** `approveRollback` signal: the one approval a data-losing emergency rollback needs. */
export const rollbackApprovalPayloadSchema = z.object({
  approver: person,
  comment: z.string().max(2000).optional(),
  ...signedFields,
});
export type RollbackApprovalPayload = z.infer<typeof rollbackApprovalPayloadSchema>;

/** The role an emergency-rollback approval is recorded under (roster: emergency.approvers). */
export const EMERGENCY_APPROVER_ROLE = 'emergency-approver';

/** `cancelDeploy` signal: stop a waiting deploy (nothing applied yet) or compensate a running one. */
export const cancelPayloadSchema = z.object({
  by: person,
  reason: z.string().trim().min(1, 'a cancellation needs a reason').max(2000),
  ...signedFields,
});
export type CancelPayload = z.infer<typeof cancelPayloadSchema>;

export const approvalUpdateResultSchema = z.object({
  accepted: z.boolean(),
  reason: z.string().optional(),
  missingRoles: z.array(z.string()),
});
export type ApprovalUpdateResult = z.infer<typeof approvalUpdateResultSchema>;

export const grantedApprovalSchema = z.object({
  role: z.string(),
  approver: z.string(),
  at: z.string(),
  comment: z.string().optional(),
  /** Signed approvals: the key that signed (`SHA256:…`), the statement's nonce, and both texts. */
  fingerprint: z.string().optional(),
  nonce: z.string().optional(),
  ...signedFields,
});
export type GrantedApproval = z.infer<typeof grantedApprovalSchema>;

export const refusedApprovalSchema = z.object({
  /** What was sent, in a few words (`devops by mallory`), or `malformed payload`. */
  summary: z.string(),
  reason: z.string(),
  at: z.string(),
  role: z.string().optional(),
  approver: z.string().optional(),
  fingerprint: z.string().optional(),
});
export type RefusedApproval = z.infer<typeof refusedApprovalSchema>;

/** Who approved what and when, what is missing, and every refused attempt (the `approvals` query). */
export const approvalStateSchema = z.object({
  required: z.array(z.string()),
  missing: z.array(z.string()),
  granted: z.array(grantedApprovalSchema),
  refused: z.array(refusedApprovalSchema),
  rejected: z
    .object({
      approver: z.string(),
      reason: z.string(),
      at: z.string(),
      fingerprint: z.string().optional(),
      nonce: z.string().optional(),
    })
    .optional(),
  expiresAt: z.string(),
});
export type ApprovalState = z.infer<typeof approvalStateSchema>;

// ───────────────────────────── progress ─────────────────────────────

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

// ───────────────────────────── signals, queries, updates ─────────────────────────────

export const approveSignal = defineSignal<[ApprovalPayload]>('approve');
export const rejectSignal = defineSignal<[RejectPayload]>('reject');
export const cancelDeploySignal = defineSignal<[CancelPayload]>('cancelDeploy');
export const approveRollbackSignal = defineSignal<[RollbackApprovalPayload]>('approveRollback');
/**
 * `reloadApprovalKeys` signal: re-read the environment's allowed signers (and requireSignatures)
 * from the worker's config now; approvals signed by a key no longer allowed stop counting. The
 * keys are also re-read before the last approval opens the gate.
 */
export const reloadApprovalKeysSignal = defineSignal<[]>('reloadApprovalKeys');

export const progressQuery = defineQuery<Progress>('progress');
export const approvalsQuery = defineQuery<ApprovalState>('approvals');

/** Same payload and policy as `approve`, but the caller learns at once whether it counted. */
export const submitApprovalUpdate = defineUpdate<ApprovalUpdateResult, [ApprovalPayload]>(
  'submitApproval',
);
export const submitRejectionUpdate = defineUpdate<ApprovalUpdateResult, [RejectPayload]>(
  'submitRejection',
);
export const submitRollbackApprovalUpdate = defineUpdate<
  ApprovalUpdateResult,
  [RollbackApprovalPayload]
>('submitRollbackApproval');

// ───────────────────────────── rehearsal ─────────────────────────────

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

export const stagingRehearsalResultSchema = z.looseObject({
  finalState: z.enum(REHEARSAL_FINAL_STATES),
  environment: z.string(),
  planChecksum: z.string(),
  criteria: z.array(criterionSchema),
  steps: z.array(stepSchema),
  certificate: rehearsalCertificateSchema.optional(),
  reportPath: z.string().optional(),
  failure: z.string().optional(),
});
export type StagingRehearsalResult = z.infer<typeof stagingRehearsalResultSchema>;

// ───────────────────────────── production deploy ─────────────────────────────

/**
 * `--accept-changed-rollback "<reason>"`: the operator accepts rollback files whose checksum
 * differs from the one the ledger recorded at apply time (recorded in pgshift.repairs).
 */
export const acceptChangedRollbackSchema = z.object({
  reason: z.string().trim().min(1, 'accepting a changed rollback file needs a reason').max(2000),
});

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
      /** Overrides of the environment's config, e.g. '2m' for demos and tests. */
      monitoringWindow: z.string().optional(),
      monitoringInterval: z.string().optional(),
      approvalExpiry: z.string().optional(),
      /** Compensation may run rollback files changed since applied (reason recorded; approved with the deploy). */
      acceptChangedRollback: acceptChangedRollbackSchema.optional(),
    })
    .default({}),
});
export type ProductionDeployInput = z.input<typeof productionDeployInputSchema>;

export const DEPLOY_FINAL_STATES = [
  'completed',
  'rejected',
  'approval-expired',
  'rolled-back',
  'failed-needs-attention',
] as const;
export type DeployFinalState = (typeof DEPLOY_FINAL_STATES)[number];

export const productionDeployResultSchema = z.looseObject({
  finalState: z.enum(DEPLOY_FINAL_STATES),
  environment: z.string(),
  planChecksum: z.string(),
  /** Why it ended this way (the trigger of a rollback, who rejected, what needs attention). */
  reason: z.string().optional(),
  approvals: approvalStateSchema.optional(),
  steps: z.array(stepSchema),
  fromVersion: z.number().optional(),
  toVersion: z.number().optional(),
  backupId: z.string().optional(),
  rehearsalWaiver: z.object({ reason: z.string(), by: z.string() }).optional(),
  reportPath: z.string().optional(),
});
export type ProductionDeployResult = z.infer<typeof productionDeployResultSchema>;

// ───────────────────────────── emergency rollback ─────────────────────────────

export const ROLLBACK_TYPES = ['migration', 'application', 'full-emergency', 'none'] as const;
export type RollbackType = (typeof ROLLBACK_TYPES)[number];

export const ISSUE_TYPES = [
  'migration-failure',
  'application-failure',
  'performance-degradation',
  'feature-failure',
  'minor',
] as const;
export type IssueType = (typeof ISSUE_TYPES)[number];

export const SEVERITIES = ['P0', 'P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A duration such as '500ms', '15s', '10m', '1h30m' (refused at start when malformed). */
export const durationSchema = z.string().refine((text) => tryParseDuration(text) !== undefined, {
  message: "invalid duration: write a number with a unit, e.g. '500ms', '15s', '10m', '24h', '2d'",
});

export const emergencyRollbackInputSchema = z.object({
  environment: z.string().min(1),
  initiator: person,
  /** The initiator's signed `initiate-rollback` statement. */
  ...signedFields,
  /** What to do; when absent, chosen by the decision matrix from `issue` and `severity`. */
  mode: z.enum(['migration', 'application', 'full-emergency', 'status-only']).optional(),
  /** `--migration-target=N`: roll the database back to version N. */
  migrationTarget: z.number().int().nonnegative().optional(),
  issue: z.enum(ISSUE_TYPES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  /** Skip the data-loss approval; the reason is recorded and notified. */
  breakGlass: z.object({ reason: z.string().trim().min(1), ...signedFields }).optional(),
  /** The rollback files (the migrations that may be reverted), when the database is rolled back. */
  plan: migrationPlanSchema.optional(),
  /** Free text for the incident document. */
  description: z.string().max(5000).optional(),
  /** Run rollback files changed since applied (reason recorded; an approval in a production tier). */
  acceptChangedRollback: acceptChangedRollbackSchema.optional(),
  /** Overrides of the environment's config, e.g. short windows for demos and tests. */
  options: z
    .object({
      /** How long to watch the thresholds after the rollback (default: config rollbackWindow). */
      watchWindow: durationSchema.optional(),
      /** Time between two samples of that watch (default: config monitoringInterval). */
      watchInterval: durationSchema.optional(),
      /** How long a data-losing rollback waits for its approval (default 1h). */
      approvalTimeout: durationSchema.optional(),
    })
    .default({}),
});
export type EmergencyRollbackInput = z.input<typeof emergencyRollbackInputSchema>;

export const ROLLBACK_FINAL_STATES = ['completed', 'failed', 'refused', 'no-action'] as const;
export type RollbackFinalState = (typeof ROLLBACK_FINAL_STATES)[number];

export const rollbackDecisionSchema = z.object({
  type: z.enum(ROLLBACK_TYPES),
  reason: z.string(),
  expectedTime: z.string(),
});
export type RollbackDecision = z.infer<typeof rollbackDecisionSchema>;

export const emergencyRollbackResultSchema = z.looseObject({
  finalState: z.enum(ROLLBACK_FINAL_STATES),
  environment: z.string(),
  type: z.enum([...ROLLBACK_TYPES, 'status-only']),
  decision: rollbackDecisionSchema.optional(),
  reason: z.string().optional(),
  steps: z.array(stepSchema),
  fromVersion: z.number().optional(),
  toVersion: z.number().optional(),
  breakGlass: z.object({ reason: z.string(), by: z.string() }).optional(),
  incidentPath: z.string().optional(),
  incidentMarkdown: z.string().optional(),
  durationMs: z.number().optional(),
  /** The database a restore replaced, kept under this name until archived. */
  preservedDatabase: z.string().optional(),
  /** The child workflow archiving it (it outlives the rollback). */
  archiveWorkflowId: z.string().optional(),
});
export type EmergencyRollbackResult = z.infer<typeof emergencyRollbackResultSchema>;

// ──────────────────────── archive of a preserved database ────────────────────────

export const archivePreservedDatabaseInputSchema = z.object({
  environment: z.string().min(1),
  /** The database kept by the restore (`<database>_pre_<id>`), a name and never a URL. */
  database: z.string().min(1),
  /** The backup it becomes, in the environment's backups folder. */
  backupName: z.string().min(1),
  incidentId: z.string().min(1),
  /** Keep the database after archiving it (emergency.keepPreservedDatabase). */
  keepDatabase: z.boolean().default(false),
});
export type ArchivePreservedDatabaseInput = z.input<typeof archivePreservedDatabaseInputSchema>;

export interface ArchivePreservedDatabaseResult {
  environment: string;
  database: string;
  backup: {
    id: string;
    path: string;
    sizeBytes: number;
    sha256: string;
    currentVersion: number | null;
  };
  databaseDropped: boolean;
  durationMs: number;
}
