/**
 * The vocabulary of fleet rollouts, shared by the fleet workflows and their clients (CLI,
 * tests): names, signals, queries, inputs and results. Environments travel by NAME only.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';
import type { SignedAuthorization } from '../../src/approvals/authorization';
import type { SignedDecision } from '../../src/approvals/verify-decision';
import type { PlanRef } from '../../src/migrations/types';
import type { ApprovalState } from '../definitions';
import { positiveDurationSchema } from '../contracts/durations';
import { migrationPlanSchema } from '../contracts/plan';

export const FLEET_WORKFLOW_TYPE = 'fleetDeploy';
export const FLEET_DATABASE_WORKFLOW_TYPE = 'fleetDatabaseDeploy';

/** `fleet-tenants`: one rollout per fleet at a time; resume and rollback find it by name. */
export function fleetWorkflowId(fleet: string): string {
  return `fleet-${fleet}`;
}

/** The child of one database: `fleet-tenants--tenant-07--deploy-1`, numbered by the children started for that database (also names its backup). */
export function fleetChildWorkflowId(
  parentId: string,
  environment: string,
  mode: FleetMode,
  attempt: number,
): string {
  return `${parentId}--${environment}--${mode}-${attempt}`;
}

/** What the `environment` line of a fleet decision's signed statement names: `fleet:tenants`. */
export function fleetStatementEnvironment(fleet: string): string {
  return `fleet:${fleet}`;
}

export type FleetMode = 'deploy' | 'rollback';

/**
 * Where each database of the fleet stands:
 * pending → deployed | failed (compensated) | needs-attention (compensation failed);
 * deployed → rolled-back | rollback-failed.
 */
export const DATABASE_STATUSES = [
  'pending',
  'running',
  'deployed',
  'failed',
  'needs-attention',
  'rolled-back',
  'rollback-failed',
] as const;
export type DatabaseStatus = (typeof DATABASE_STATUSES)[number];

export interface FleetDatabase {
  environment: string;
  status: DatabaseStatus;
  /** Children started for this database (a resumed failure gets a new child). */
  attempts: number;
  /** The version before this rollout changed it (what a fleet rollback returns to). */
  fromVersion?: number;
  backupId?: string;
  /** Why it failed (one line). */
  reason?: string;
}

export interface FleetSettings {
  /** End (exclusive) of each wave over the members in order. */
  waves: number[];
  concurrency: number;
  /** Failures tolerated before the rollout halts. */
  allowance: number;
  /** `continue`, `approval`, or a pause in ms. */
  betweenWaves: 'continue' | 'approval' | number;
  rollbackWindowMs: number;
  /** Passed on to each database's deploy. */
  monitoringWindow?: string;
  monitoringInterval?: string;
}

/** `approving` → `rolling-out` ⇄ `halted` → `rolled-out` → (`rolling-back` → `rolled-back`). */
export type FleetStage =
  'approving' | 'rolling-out' | 'between-waves' | 'halted' | 'rolled-out' | 'rolling-back';

/** What a run hands to the next one when it continues as new (only a continued run accepts it). */
export interface FleetCarried {
  stage: FleetStage;
  settings: FleetSettings;
  databases: FleetDatabase[];
  approvals: ApprovalState;
  /** The wave running (rolling out) or being reversed (rolling back). */
  wave: number;
  /** The wave's gate (pause or approval) has been passed. */
  waveOpened: boolean;
  /** Failures counted against the budget since the start or the last resume. */
  failures: number;
  highRisk: boolean;
  /** Resume and rollback requests received (who, why). */
  decisions: FleetDecision[];
  /** When the rollout reached `rolled-out` (ms). */
  rolledOutAt?: number;
  /** role → people, from the fleet's approvals: who may resume or roll back. */
  roster: Record<string, string[]>;
  /** Decisions are verified signatures (fleets.<name>.approvals.allowedSigners), not names. */
  signed?: boolean;
}

/** `statement` and `signature`: the initiator's signed start (`initiate-deploy`, `run-id: none`). */
export interface FleetDeployInput extends SignedDecision {
  fleet: string;
  plan: PlanRef;
  initiator: string;
  options?: {
    approvalExpiry?: string;
    /** Children a run starts before it continues as new (default 400; tests lower it). */
    childrenPerRun?: number;
  };
  carried?: FleetCarried;
}

/**
 * What `fleetDeploy` checks of its input before anything else (a start by hand, e.g. with
 * `temporal workflow start`, gets `InvalidInput` naming every bad key). Loose: signed-decision
 * fields and the carried state of a continued run pass through as they came.
 */
export const fleetDeployInputSchema = z.looseObject({
  fleet: z.string().min(1),
  plan: migrationPlanSchema,
  initiator: z.string().min(1),
  options: z
    .looseObject({
      approvalExpiry: positiveDurationSchema.optional(),
      childrenPerRun: z.number().int().positive().optional(),
    })
    .optional(),
  carried: z
    .looseObject({
      stage: z.string(),
      databases: z.array(
        z.looseObject({ environment: z.string().min(1), status: z.enum(DATABASE_STATUSES) }),
      ),
    })
    .optional(),
});

export const FLEET_FINAL_STATES = [
  'completed',
  'rolled-back',
  'halted-rolled-back',
  'rejected',
  'approval-expired',
] as const;
export type FleetFinalState = (typeof FLEET_FINAL_STATES)[number];

const fleetWaveCountsSchema = z.strictObject({
  wave: z.number(),
  size: z.number(),
  counts: z.partialRecord(z.enum(DATABASE_STATUSES), z.number()),
});
export type FleetWaveCounts = z.infer<typeof fleetWaveCountsSchema>;

/** What `fleetDeploy` returns: every field, nothing else. */
export const fleetDeployResultSchema = z.strictObject({
  fleet: z.string(),
  finalState: z.enum(FLEET_FINAL_STATES),
  reason: z.string(),
  waves: z.array(fleetWaveCountsSchema),
  /** Databases that failed, with their reasons (at most 100). */
  failed: z.array(
    z.strictObject({
      environment: z.string(),
      status: z.enum(DATABASE_STATUSES),
      reason: z.string(),
    }),
  ),
});
export type FleetDeployResult = z.infer<typeof fleetDeployResultSchema>;

/**
 * `resumeFleet` (halted or waiting between waves) and `rollbackFleet`: who, and why; signed
 * (`fleet-resume` / `fleet-rollback`) when the fleet requires signatures.
 */
export interface FleetDecision extends SignedDecision {
  kind: 'resume' | 'rollback';
  by: string;
  reason?: string;
  at?: string;
  /** Refused: why (not on the roster, nothing to resume, …). */
  refused?: string;
  /** The key that signed it, and its nonce (a statement counts once). */
  fingerprint?: string;
  nonce?: string;
}

export const resumeFleetSignal = defineSignal<[FleetDecision]>('resumeFleet');
export const rollbackFleetSignal = defineSignal<[FleetDecision]>('rollbackFleet');

/** What a fleet's database child asks its parent: is it a member, of which plan, approved? */
export interface FleetMembership {
  fleet: string;
  planChecksum: string;
  initiator: string;
  mode: FleetMode | null;
  member: boolean;
  approvals: ApprovalState;
  /** The signed start and approvals, for the child's activity to verify against its keys. */
  authorization?: SignedAuthorization;
}
export const fleetMembershipQuery = defineQuery<FleetMembership, [string]>('fleetMembership');

export interface FleetOverview {
  fleet: string;
  stage: FleetStage;
  wave: number;
  waves: FleetWaveCounts[];
  failures: number;
  allowance: number;
  failed: { environment: string; status: DatabaseStatus; reason: string }[];
  decisions: FleetDecision[];
}
export const fleetOverviewQuery = defineQuery<FleetOverview>('fleetOverview');

/** The input of one database's child workflow. */
export interface FleetDatabaseInput {
  fleet: string;
  environment: string;
  plan: PlanRef;
  initiator: string;
  mode: FleetMode;
  /** Rollback: the version to return to, and the deploy's backup (a restore when files fail). */
  targetVersion?: number;
  backupId?: string;
  monitoringWindow?: string;
  monitoringInterval?: string;
}

/** What `fleetDatabaseDeploy` checks of its input before anything else. */
export const fleetDatabaseInputSchema = z.looseObject({
  fleet: z.string().min(1),
  environment: z.string().min(1),
  plan: migrationPlanSchema,
  initiator: z.string().min(1),
  mode: z.enum(['deploy', 'rollback']),
  targetVersion: z.number().int().nonnegative().optional(),
  backupId: z.string().min(1).optional(),
  monitoringWindow: positiveDurationSchema.optional(),
  monitoringInterval: positiveDurationSchema.optional(),
});

export const fleetDatabaseResultSchema = z.strictObject({
  environment: z.string(),
  /** deployed / rolled-back, or failed (compensated), needs-attention (undo failed). */
  outcome: z.enum(['deployed', 'rolled-back', 'failed', 'needs-attention']),
  fromVersion: z.number(),
  backupId: z.string().optional(),
  reason: z.string(),
});
export type FleetDatabaseResult = z.infer<typeof fleetDatabaseResultSchema>;

/**
 * What a member's child hands the activities that change its database, in place of signed
 * decisions of its own: the fleet, whose approvals the activity checks through the child's
 * server-recorded parent.
 */
export function fleetMemberAuthorization(input: FleetDatabaseInput): SignedAuthorization {
  return {
    kind: input.mode,
    approvals: [],
    fleet: { fleet: input.fleet, planChecksum: input.plan.checksum },
  };
}
