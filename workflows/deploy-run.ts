import { isCancellation } from '@temporalio/workflow';
import type { z } from 'zod';
import type { BackupSummary } from '../activities/backup';
import type { PlanValidation } from '../activities/plan';
import type { EnvironmentPolicy } from '../activities/policy';
import type { SignedAuthorization } from '../src/approvals/authorization';
import type { NotificationSeverity } from '../src/app/notify';
import type { RollbackTrigger } from '../src/verify/thresholds';
import type { PlanRef } from '../src/migrations/types';
import type { RowCounts } from '../src/verify/row-counts';
import type { DeployFinalState, productionDeployInputSchema } from './definitions';
import { ApprovalGate } from './deploy-approval-gate';
import { waitingDetails } from './deploy-approvals';
import { showDetails } from './deploy-monitoring';
import { DeployCancellation, durationOption } from './deploy-options';
import { describeFailure, stepFailure } from './failures';
import { RunSignatures } from './signed-approvals';
import { notify } from './steps/notify';
import { PlanRun } from './steps/plan-run';
import { recordDeploy } from './steps/record';

/** Why a deploy undid itself: the guide's immediate rollback triggers, plus cancellation. */
export type DeployTrigger =
  | 'migration-failure'
  | 'application-deployment-failure'
  | 'verification-failure'
  | RollbackTrigger
  | 'cancelled'
  | 'unexpected-failure';

/** The guide's words for each trigger, for reasons, reports and notifications. */
export const TRIGGER_LABELS: Record<DeployTrigger, string> = {
  'migration-failure': 'migration failure',
  'application-deployment-failure': 'application deployment failure',
  'verification-failure': 'post-deployment verification failed',
  'critical-functionality-broken': 'critical functionality broken',
  'performance-degradation': 'performance degradation',
  'error-rate': 'error rate above threshold',
  'response-time': 'response time above threshold',
  'db-connections': 'database connections above threshold',
  cancelled: 'deploy cancelled',
  'unexpected-failure': 'unexpected failure',
};

/** How a deploy ended (a refusal before any change is a failure instead). */
export interface DeployEnding {
  finalState: DeployFinalState;
  reason: string;
}

export const DEPLOY_STEPS = [
  'validate',
  'approvals',
  'backup',
  'baseline',
  'deploy application',
  'migrate',
  'verify',
  'monitor',
  'report',
];

type DeployInput = z.output<typeof productionDeployInputSchema>;

/**
 * What a deploy has done so far, as compensation reads it to undo exactly that, in reverse:
 * a production deploy's `DeployRun`, or a fleet member's deploy.
 */
export interface DeployFacts {
  readonly environment: string;
  readonly plan: PlanRef;
  readonly workflowId: string;
  readonly initiator: string;
  /** The version the environment was at before this deploy (what compensation returns to). */
  fromVersion: number;
  backup: BackupSummary | undefined;
  baselineRowCounts: RowCounts | undefined;
  /** applyMigrations was called: some migrations may be applied, even if it failed. */
  migrationsTouched: boolean;
  /** The app deploy hook changed the application (or may have). */
  appDeployed: boolean;
  appVersionBefore: string | undefined;
  /** Set when a trigger fired (the first one wins). */
  trigger: { kind: DeployTrigger; detail: string } | undefined;
  /** Compensation may run rollback files changed since applied (`--accept-changed-rollback`). */
  readonly acceptChangedRollback: { reason: string; acceptedBy: string } | undefined;
  /** Compensation ran (it never runs twice). */
  compensation: { ok: boolean; detail: string } | undefined;
  /** The signed start and approvals, handed to every activity that changes the database. */
  authorization: SignedAuthorization | undefined;
}

/**
 * One production deploy: its input, its message handlers (approvals gate, cancellation, lease,
 * key reloads: registered by the constructor, before the first await), what it has learned
 * (policy, validation, pending migrations) and what it has done so far — the memory that
 * compensation reads to undo exactly that, in reverse. Rebuilt by replay after a crash.
 */
export class DeployRun extends PlanRun<DeployInput['options']> implements DeployFacts {
  readonly gate: ApprovalGate;
  readonly cancellation: DeployCancellation;
  readonly keys: RunSignatures;
  /** The input's overrides of the environment's config, in ms. */
  readonly overrides: {
    monitoringWindow?: number;
    monitoringInterval?: number;
    approvalExpiry?: number;
  };

  // ── learned while validating ──
  policy: EnvironmentPolicy | undefined;
  validation: PlanValidation | undefined;
  waiver: { reason: string; by: string } | undefined;
  pending: number[] = [];

  // ── done so far (compensation undoes it) ──
  /** The version the environment was at before this deploy (what compensation returns to). */
  fromVersion = 0;
  backup: BackupSummary | undefined;
  baselineRowCounts: RowCounts | undefined;
  /** applyMigrations was called: some migrations may be applied, even if it failed. */
  migrationsTouched = false;
  /** The app deploy hook changed the application (or may have). */
  appDeployed = false;
  appVersionBefore: string | undefined;
  appVersionAfter: string | undefined;
  /** Set when a trigger fired (the first one wins). */
  trigger: { kind: DeployTrigger; detail: string } | undefined;
  /** Compensation may run rollback files changed since applied (`--accept-changed-rollback`). */
  readonly acceptChangedRollback: { reason: string; acceptedBy: string } | undefined;
  /** Compensation ran (it never runs twice). */
  compensation: { ok: boolean; detail: string } | undefined;
  /** The signed start and approvals, handed to every activity that changes the database. */
  authorization: SignedAuthorization | undefined;

  constructor(
    readonly input: DeployInput,
    /** Signed approvals (SIGNED_APPROVALS_PATCH). */
    readonly signed: boolean,
  ) {
    // The lease is held from the backup to the end of compensation.
    super(input, 'productionDeploy', DEPLOY_STEPS);
    const { environment, initiator, options } = input;
    this.overrides = {
      monitoringWindow: durationOption(options.monitoringWindow, 'options.monitoringWindow'),
      monitoringInterval: durationOption(options.monitoringInterval, 'options.monitoringInterval'),
      approvalExpiry: durationOption(options.approvalExpiry, 'options.approvalExpiry'),
    };
    this.acceptChangedRollback = options.acceptChangedRollback
      ? { ...options.acceptChangedRollback, acceptedBy: initiator }
      : undefined;
    // ── handlers first: nothing sent early is lost ──
    this.gate = new ApprovalGate((state) => {
      if (!this.gate?.isOpen) return;
      if (this.tracker.progress.phase === 'awaiting-approval')
        showDetails(this.tracker, waitingDetails(this, state));
      else this.tracker.setPhase('awaiting-approval', waitingDetails(this, state));
    });
    this.cancellation = new DeployCancellation(signed);
    this.keys = new RunSignatures(environment, this.gate, signed);
  }

  /** The keys the gate judges with (or those verified at the start, before it opens). */
  get signatures() {
    return this.gate.signatures ?? this.keys.current;
  }

  /** The deploy changed something that compensation must undo. */
  get hasChanges(): boolean {
    return this.migrationsTouched || this.appDeployed;
  }

  get cancelRequested(): boolean {
    return this.cancellation.requested;
  }

  /** Records the trigger (the first one wins) and returns the failure that unwinds the deploy. */
  fire(kind: DeployTrigger, detail: string) {
    this.trigger ??= { kind, detail };
    return stepFailure('RollbackTrigger', `${TRIGGER_LABELS[kind]}: ${detail}`);
  }

  /** A cancelDeploy received: unwind now. */
  checkCancel(): void {
    const request = this.cancellation.request;
    if (request) throw this.fire('cancelled', `cancelled by ${request.by}: ${request.reason}`);
  }

  /** Runs a step whose failure is an immediate rollback trigger. */
  async guarded<T>(kind: DeployTrigger, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      if (isCancellation(error)) throw error;
      throw this.fire(kind, describeFailure(error).message);
    }
  }

  tell(severity: NotificationSeverity, title: string, text: string): Promise<void> {
    return notify(this.environment, {
      severity,
      title,
      text,
      fields: { Workflow: this.workflowId, Plan: this.shortPlan, 'Started by': this.initiator },
    });
  }

  /** The deploy's row in pgshift.deployments. */
  async record(status: string, reason?: string): Promise<void> {
    const appVersionAfter = this.appVersionAfter ?? this.appVersionBefore;
    await recordDeploy(
      this,
      status,
      reason,
      `record the deploy in ${this.environment} as ${status}`,
      {
        ...(this.appVersionBefore ? { appVersionBefore: this.appVersionBefore } : {}),
        ...(appVersionAfter ? { appVersionAfter } : {}),
      },
    );
  }
}
