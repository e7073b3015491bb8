import type { z } from 'zod';
import type { BackupSummary } from '../../activities/backup';
import type { stagingRehearsalInputSchema } from '../definitions';
import { RehearsalCriteria } from '../rehearsal-criteria';
import { PlanRun } from '../steps/plan-run';

export const REHEARSAL_STEPS = [
  'validate',
  'backup',
  'migrate',
  'verify',
  'rollback rehearsal',
  'rollback tests',
  'functional checks',
  'report',
];

type RehearsalInput = z.output<typeof stagingRehearsalInputSchema>;

/**
 * One staging rehearsal: its input, progress and lease (PlanRun), its criteria, and what it has
 * learned and done so far (the version it started from and the backup compensation restores).
 */
export class RehearsalRun extends PlanRun<RehearsalInput['options']> {
  readonly criteria = new RehearsalCriteria();

  /** The version staging was at before the rehearsal (what compensation returns to). */
  fromVersion = 0;
  /** Taken before anything changed: from then on a failure is compensated. */
  backup: BackupSummary | undefined;
  /** Safety validation passed. */
  securityOk = false;
  /** How many migrations the rollback rehearsal steps back (the policy's, or the input's). */
  rollbackDepth = 2;
  /** `Type: message` of what failed. */
  failure: string | undefined;
  /** A cancellation absorbed to compensate and report; rethrown at the very end. */
  cancelled: unknown;
  /** How staging was brought back after a failure. */
  compensation: string | undefined;

  constructor(input: RehearsalInput) {
    super(input, 'stagingRehearsal', REHEARSAL_STEPS);
  }

  /** Who the ledger names for the rehearsal's migrations. */
  get appliedBy(): string {
    return `${this.initiator} (rehearsal ${this.workflowId})`;
  }

  judge(...args: Parameters<RehearsalCriteria['judge']>): void {
    this.criteria.judge(...args);
  }
}
