import { ApplicationFailure } from '@temporalio/workflow';
import { DECISION_MATRIX, decideRollbackType } from '../decision-matrix';
import type { EmergencyRollbackInput, RollbackDecision, RollbackType } from '../definitions';

/** What a rollback run does: a rollback type, or `status-only` (reports, changes nothing). */
export type Mode = RollbackType | 'status-only';

const BEFORE = ['decide', 'assess impact'];
const DATABASE = ['approval', 'emergency backup', 'notify stakeholders', 'revert migrations'];
const APPLICATION = ['roll back application', 'verify application'];
const AFTER = ['verify system', 'watch thresholds', 'record', 'incident document', 'post-mortem'];

/** The steps of each mode, in the order they run (the progress query shows them all at once). */
export const STEPS: Record<Mode, string[]> = {
  'status-only': ['read status'],
  none: ['decide', 'notify stakeholders', 'incident document'],
  migration: [...BEFORE, ...DATABASE, 'verify database', ...AFTER],
  application: [...BEFORE, 'notify stakeholders', ...APPLICATION, ...AFTER],
  'full-emergency': [
    ...BEFORE,
    ...DATABASE,
    'restore backup',
    'verify database',
    ...APPLICATION,
    ...AFTER,
    'archive emergency backup',
  ],
};

/** Steps that run while the run finishes, whatever happened before. */
export const FINISHING_STEPS = [
  'record',
  'incident document',
  'post-mortem',
  'archive emergency backup',
];

const FLAG: Record<Exclude<Mode, 'none'>, string> = {
  migration: '--migration-target',
  application: '--app-rollback',
  'full-emergency': '--full-emergency',
  'status-only': '--status-only',
};

/** The guide's "Time to Execute" for a rollback type (its first row in the decision matrix). */
export function guideTimeFor(type: RollbackType): string {
  return DECISION_MATRIX.find((row) => row.type === type)?.expectedTime ?? 'N/A';
}

export type Choice =
  | { mode: 'status-only'; source: 'operator' }
  | { mode: RollbackType; decision: RollbackDecision; source: 'operator' | 'decision matrix' };

/** The operator's flag wins; otherwise the decision matrix decides from issue and severity. */
export function chooseRollback(
  input: Pick<EmergencyRollbackInput, 'mode' | 'issue' | 'severity'>,
): Choice {
  const matrix =
    input.issue && input.severity
      ? decideRollbackType({ issue: input.issue, severity: input.severity })
      : undefined;
  if (input.mode === 'status-only') return { mode: 'status-only', source: 'operator' };
  if (input.mode)
    return {
      mode: input.mode,
      source: 'operator',
      decision: {
        type: input.mode,
        expectedTime: guideTimeFor(input.mode),
        reason: `chosen by the operator (${FLAG[input.mode]})${
          matrix ? `; the decision matrix would choose ${matrix.type} (${matrix.reason})` : ''
        }`,
      },
    };
  if (!matrix)
    throw ApplicationFailure.nonRetryable(
      'no rollback type: give one of --migration-target=N, --app-rollback, --full-emergency, --status-only, or --issue and --severity for the decision matrix',
      'InvalidInput',
    );
  return { mode: matrix.type, decision: matrix, source: 'decision matrix' };
}
