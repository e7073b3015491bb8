/**
 * The guide's Rollback Decision Matrix as a pure function (deterministic, usable in workflows).
 *
 * | Issue Type              | Severity | Rollback Type       | Time to Execute |
 * |-------------------------|----------|---------------------|-----------------|
 * | Migration failure       | P0       | Full Emergency      | 5-10 minutes    |
 * | Application failure     | P0       | Application         | 2-5 minutes     |
 * | Performance degradation | P1       | Migration           | 10-15 minutes   |
 * | Feature failure         | P2       | Application         | 5-10 minutes    |
 * | Minor issue             | P3       | None (fix in place) | N/A             |
 *
 * Combinations the table does not list:
 * - severity P3 is always `none` (fix in place), whatever the issue;
 * - a `minor` issue is always `none`;
 * - otherwise the issue type decides, with the type and time of that issue's row, except that a
 *   migration failure below P0 rolls back the migration only (the application is not at fault,
 *   and a full emergency rollback is reserved for P0).
 */
import {
  ISSUE_TYPES,
  SEVERITIES,
  type IssueType,
  type RollbackDecision,
  type RollbackType,
  type Severity,
} from './definitions';

interface Row {
  issue: IssueType;
  severity: Severity;
  type: RollbackType;
  expectedTime: string;
  label: string;
}

/** The guide's table, row by row. */
export const DECISION_MATRIX: readonly Row[] = [
  {
    issue: 'migration-failure',
    severity: 'P0',
    type: 'full-emergency',
    expectedTime: '5-10 minutes',
    label: 'Migration failure',
  },
  {
    issue: 'application-failure',
    severity: 'P0',
    type: 'application',
    expectedTime: '2-5 minutes',
    label: 'Application failure',
  },
  {
    issue: 'performance-degradation',
    severity: 'P1',
    type: 'migration',
    expectedTime: '10-15 minutes',
    label: 'Performance degradation',
  },
  {
    issue: 'feature-failure',
    severity: 'P2',
    type: 'application',
    expectedTime: '5-10 minutes',
    label: 'Feature failure',
  },
  { issue: 'minor', severity: 'P3', type: 'none', expectedTime: 'N/A', label: 'Minor issue' },
];

/** The guide's names of the rollback types, as in its decision matrix. */
export const GUIDE_LABEL: Record<RollbackType, string> = {
  migration: 'Migration',
  application: 'Application',
  'full-emergency': 'Full Emergency',
  none: 'None (fix in place)',
};

/** The guide's name of a rollback type (an unknown type as it is). */
export function rollbackLabel(type: string): string {
  return (GUIDE_LABEL as Record<string, string>)[type] ?? type;
}

/** `full emergency rollback`, `no rollback (fix in place)`: the label inside a sentence. */
function typeInSentence(type: RollbackType): string {
  return type === 'none'
    ? 'no rollback (fix in place)'
    : `${GUIDE_LABEL[type].toLowerCase()} rollback`;
}

/** Chooses the rollback type for an issue and severity, with the reason and the guide's expected time. */
export function decideRollbackType(input: {
  issue: IssueType;
  severity: Severity;
}): RollbackDecision {
  const { issue, severity } = input;
  if (!ISSUE_TYPES.includes(issue))
    throw new RangeError(
      `unknown issue type ${JSON.stringify(issue)}: use one of ${ISSUE_TYPES.join(', ')}`,
    );
  if (!SEVERITIES.includes(severity))
    throw new RangeError(
      `unknown severity ${JSON.stringify(severity)}: use one of ${SEVERITIES.join(', ')}`,
    );
  const exact = DECISION_MATRIX.find((row) => row.issue === issue && row.severity === severity);
  if (exact)
    return {
      type: exact.type,
      expectedTime: exact.expectedTime,
      reason: `decision matrix: ${exact.label} at ${severity} → ${typeInSentence(exact.type)}`,
    };
  if (severity === 'P3' || issue === 'minor')
    return {
      type: 'none',
      expectedTime: 'N/A',
      reason: `${issue} at ${severity}: ${severity === 'P3' ? 'P3 issues are' : 'a minor issue is'} fixed in place, no rollback (decision matrix: Minor issue P3)`,
    };
  if (issue === 'migration-failure')
    return {
      type: 'migration',
      expectedTime: '10-15 minutes',
      reason: `migration-failure at ${severity}: not in the decision matrix; below P0 only the migration is rolled back (full emergency is for P0)`,
    };
  const row = DECISION_MATRIX.find((candidate) => candidate.issue === issue) as Row;
  return {
    type: row.type,
    expectedTime: row.expectedTime,
    reason: `${issue} at ${severity}: not in the decision matrix; chosen by issue type (${row.label} → ${typeInSentence(row.type)})`,
  };
}
