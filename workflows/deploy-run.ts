import type { SignedAuthorization } from '../src/approvals/authorization';
import type { BackupSummary } from '../activities/backup';
import type { PlanRef } from '../src/migrations/types';
import type { RollbackTrigger } from '../src/verify/thresholds';
import type { RowCounts } from '../src/verify/row-counts';

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

/**
 * What one production deploy has done so far: the workflow's memory of its side effects,
 * which compensation reads to undo exactly those, in reverse. Rebuilt by replay after a crash.
 */
export interface DeployRun {
  environment: string;
  plan: PlanRef;
  workflowId: string;
  initiator: string;
  /** The version the environment was at before this deploy (what compensation returns to). */
  fromVersion: number;
  /** The newest version of the plan (what this deploy brings the environment to). */
  toVersion: number;
  backup?: BackupSummary;
  baselineRowCounts?: RowCounts;
  /** applyMigrations was called: some migrations may be applied, even if it failed. */
  migrationsTouched: boolean;
  /** The app deploy hook changed the application (or may have). */
  appDeployed: boolean;
  appVersionBefore?: string;
  appVersionAfter?: string;
  /** Set when a trigger fired. */
  trigger?: { kind: DeployTrigger; detail: string };
  /** Compensation may run rollback files changed since applied (`--accept-changed-rollback`). */
  acceptChangedRollback?: { reason: string; acceptedBy: string };
  /** Compensation ran (it never runs twice). */
  compensation?: { ok: boolean; detail: string };
  /** The signed start and approvals, handed to every activity that changes the database. */
  authorization?: SignedAuthorization;
}

/** The deploy changed something that compensation must undo. */
export function hasChanges(run: DeployRun): boolean {
  return run.migrationsTouched || run.appDeployed;
}
