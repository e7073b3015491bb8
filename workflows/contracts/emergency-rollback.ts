/** `emergencyRollback`: its ids, input, result and messages. */
import { defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { LOSS_KINDS } from '../../src/rollback/describe-loss';
import {
  approvalStateSchema,
  person,
  signedFields,
  type ApprovalUpdateResult,
  type RollbackApprovalPayload,
} from './approvals';
import { acceptChangedRollbackSchema, changeFields, reasonBySchema } from './deploy';
import { ISSUE_TYPES, SEVERITIES } from './incident-kinds';
import { durationSchema } from './durations';
import { migrationPlanSchema } from './plan';
import { stepSchema } from './progress';

/** `rollback-production-20250101T120000Z`: the incident id of a rollback, named by when it was asked for. */
export function incidentIdFor(environment: string, requestedAtMs: number): string {
  const stamp = new Date(requestedAtMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return `rollback-${environment}-${stamp}`;
}

/** The id of the lock that lets only one deploy or rollback act on an environment at a time. */
export function environmentLockId(environment: string): string {
  return `pgshift-lock-${environment}`;
}

// ── messages (the `approvals` and `progress` queries are shared: approvals.ts, progress.ts) ──

export const approveRollbackSignal = defineSignal<[RollbackApprovalPayload]>('approveRollback');
export const submitRollbackApprovalUpdate = defineUpdate<
  ApprovalUpdateResult,
  [RollbackApprovalPayload]
>('submitRollbackApproval');

// ── input ──

export const ROLLBACK_TYPES = ['migration', 'application', 'full-emergency', 'none'] as const;
export type RollbackType = (typeof ROLLBACK_TYPES)[number];

export { ISSUE_TYPES, SEVERITIES, type IssueType, type Severity } from './incident-kinds';

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

// ── result ──

export const ROLLBACK_FINAL_STATES = ['completed', 'failed', 'refused', 'no-action'] as const;
export type RollbackFinalState = (typeof ROLLBACK_FINAL_STATES)[number];

export const rollbackDecisionSchema = z.object({
  type: z.enum(ROLLBACK_TYPES),
  reason: z.string(),
  expectedTime: z.string(),
});
export type RollbackDecision = z.infer<typeof rollbackDecisionSchema>;

/** What a rollback to the target loses: the migrations it reverts and the data they drop. */
export const rollbackImpactSchema = z.strictObject({
  currentVersion: z.number(),
  target: z.number(),
  reverted: z.array(
    z.strictObject({
      version: z.number(),
      name: z.string(),
      rollbackFile: z.string().optional(),
    }),
  ),
  missingRollbackFiles: z.array(z.number()),
  /** src/rollback/impact.ts `DataLossItem`: what the rollback file of `version` destroys. */
  dataLoss: z.array(
    z.strictObject({
      // where: the rollback file of `version`, and the statement's line
      version: z.number(),
      file: z.string(),
      line: z.number(),
      // what: the statement's kind and the object it destroys
      kind: z.enum(LOSS_KINDS),
      schema: z.string().optional(),
      table: z.string(),
      column: z.string().optional(),
      // how much: whether it exists now, and its rows (estimated when counting took too long)
      exists: z.boolean(),
      rows: z.number().nullable(),
      estimated: z.boolean().optional(),
      /** Why a statement that is not a plain drop counts as possibly losing data. */
      reason: z.string().optional(),
    }),
  ),
});

export type RollbackImpactSummary = z.infer<typeof rollbackImpactSchema>;

/** The post-rollback threshold watch: samples taken and every breach. */
export const rollbackWatchSchema = z.strictObject({
  windowMs: z.number(),
  intervalMs: z.number(),
  samples: z.number(),
  breaches: z.array(
    z.strictObject({
      at: z.string(),
      trigger: z.string(),
      severity: z.string(),
      detail: z.string(),
    }),
  ),
  skipped: z.string().optional(),
});
export type RollbackWatch = z.infer<typeof rollbackWatchSchema>;

const deploymentRecordSchema = z.strictObject({
  workflowId: z.string(),
  kind: z.enum(['deploy', 'rollback']),
  planChecksum: z.string().optional(),
  ...changeFields,
  status: z.string(),
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

/** `--status-only`: what an on-call engineer needs to see first. */
export const environmentStatusSchema = z.strictObject({
  migration: z.strictObject({
    currentVersion: z.number(),
    appliedCount: z.number(),
    /** With rollback files (a plan): what is pending, drifted or missing. */
    pending: z.array(z.number()).optional(),
    drift: z.array(z.string()).optional(),
    missingFiles: z.array(z.number()).optional(),
  }),
  appVersion: z.string().nullable(),
  backups: z.array(
    z.strictObject({
      id: z.string(),
      createdAt: z.string(),
      sizeBytes: z.number(),
      currentVersion: z.number().nullable(),
    }),
  ),
  deployments: z.array(deploymentRecordSchema),
  lastSuccessfulDeploy: deploymentRecordSchema.nullable(),
});
export type EnvironmentStatus = z.infer<typeof environmentStatusSchema>;

/** What `emergencyRollback` returns: every field, nothing else. */
export const emergencyRollbackResultSchema = z.strictObject({
  finalState: z.enum(ROLLBACK_FINAL_STATES),
  environment: z.string(),
  type: z.enum([...ROLLBACK_TYPES, 'status-only']),
  decision: rollbackDecisionSchema.optional(),
  reason: z.string().optional(),
  steps: z.array(stepSchema),
  fromVersion: z.number().optional(),
  toVersion: z.number().optional(),
  breakGlass: reasonBySchema.optional(),
  durationMs: z.number().optional(),
  incidentId: z.string().optional(),
  /** "took 42 s; guide's target for …": execution time against the guide's. */
  timing: z.string().optional(),
  /** The data-loss approval: who approved, refused attempts; and whether one was needed. */
  approval: approvalStateSchema.optional(),
  approvalRequired: z.boolean().optional(),
  impact: rollbackImpactSchema.optional(),
  /** How the database was rolled back (`rollback files …`, a restore, …). */
  method: z.string().optional(),
  emergencyBackupId: z.string().optional(),
  restoredBackupId: z.string().optional(),
  app: z
    .strictObject({
      before: z.string().nullable().optional(),
      after: z.string().nullable().optional(),
      expected: z.string().optional(),
    })
    .optional(),
  verification: z
    .strictObject({
      ok: z.boolean(),
      checks: z.array(z.strictObject({ name: z.string(), ok: z.boolean(), detail: z.string() })),
    })
    .optional(),
  watch: rollbackWatchSchema.optional(),
  postMortemDue: z.string().optional(),
  incidentPath: z.string().optional(),
  incidentMarkdown: z.string().optional(),
  /** The database a restore replaced, kept under this name until archived. */
  preservedDatabase: z.string().optional(),
  /** The child workflow archiving it (it outlives the rollback). */
  archiveWorkflowId: z.string().optional(),
  /** `--status-only`: the environment's state. */
  status: environmentStatusSchema.optional(),
});
export type EmergencyRollbackResult = z.infer<typeof emergencyRollbackResultSchema>;
