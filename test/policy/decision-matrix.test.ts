import { describe, expect, it } from 'vitest';
import { decideRollbackType } from '../../workflows/decision-matrix';
import type { IssueType, Severity } from '../../workflows/definitions';

describe('rollback decision matrix', () => {
  it.each([
    ['migration-failure', 'P0', 'full-emergency', '5-10 minutes'],
    ['application-failure', 'P0', 'application', '2-5 minutes'],
    ['performance-degradation', 'P1', 'migration', '10-15 minutes'],
    ['feature-failure', 'P2', 'application', '5-10 minutes'],
    ['minor', 'P3', 'none', 'N/A'],
  ] as const)('follows the guide: %s at %s → %s in %s', (issue, severity, type, expectedTime) => {
    const decision = decideRollbackType({ issue, severity });
    expect(decision).toMatchObject({ type, expectedTime });
    expect(decision.reason).toContain('decision matrix');
  });

  it('never rolls back a P3 issue, whatever its type', () => {
    for (const issue of [
      'migration-failure',
      'application-failure',
      'feature-failure',
    ] as IssueType[])
      expect(decideRollbackType({ issue, severity: 'P3' }).type).toBe('none');
  });

  it('never rolls back a minor issue, whatever its severity', () => {
    expect(decideRollbackType({ issue: 'minor', severity: 'P0' }).type).toBe('none');
  });

  it('rolls back only the migration for a migration failure below P0', () => {
    const decision = decideRollbackType({ issue: 'migration-failure', severity: 'P1' });
    expect(decision.type).toBe('migration');
    expect(decision.reason).toContain('not in the decision matrix');
  });

  it('chooses by issue type for combinations the table does not list', () => {
    expect(decideRollbackType({ issue: 'application-failure', severity: 'P2' }).type).toBe(
      'application',
    );
    expect(decideRollbackType({ issue: 'performance-degradation', severity: 'P0' })).toMatchObject({
      type: 'migration',
      expectedTime: '10-15 minutes',
    });
    expect(decideRollbackType({ issue: 'feature-failure', severity: 'P1' }).type).toBe(
      'application',
    );
  });

  it('refuses an unknown issue type or severity', () => {
    expect(() => decideRollbackType({ issue: 'typo' as IssueType, severity: 'P0' })).toThrow(
      /unknown issue type "typo"/,
    );
    expect(() => decideRollbackType({ issue: 'minor', severity: 'P9' as Severity })).toThrow(
      /unknown severity "P9"/,
    );
  });
});
