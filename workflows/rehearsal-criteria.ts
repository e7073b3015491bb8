import type { CheckOutcome, VerificationReport } from '../activities/verify';
import type { Criterion } from './definitions';
import { summariseChecks } from './text';

/** The guide's Staging Validation Criteria, in its order. */
export const ALL_CRITERIA = [
  'All migrations applied successfully',
  'Rollback procedures tested and verified',
  'Application performance within thresholds',
  'Error rates below acceptable limits',
  'Security measures active',
  'Core functionality working',
  'Data accuracy verified',
  'User workflows functional',
  'Integration points operational',
];

/** The verdict on each criterion of one rehearsal, as the steps decide them. */
export class RehearsalCriteria {
  private readonly verdicts = new Map<string, Criterion>();

  judge(name: string, status: Criterion['status'], detail: string): void {
    this.verdicts.set(name, { name, status, detail });
  }

  /** The criteria no step decided: skipped when the rehearsal passed, else failed. */
  settleRest(passed: boolean, failure: string | undefined): void {
    for (const name of ALL_CRITERIA)
      if (!this.verdicts.has(name))
        this.judge(
          name,
          passed ? 'skipped' : 'failed',
          passed ? 'nothing configured to check it' : `not reached: ${failure}`,
        );
  }

  list(): Criterion[] {
    return ALL_CRITERIA.map((name) => this.verdicts.get(name)!);
  }

  /** The criteria that the functional checks decide. */
  judgeFunctional(report: VerificationReport): void {
    const of = (kind: CheckOutcome['kind']) => report.checks.filter((c) => c.kind === kind);
    const verdict = (name: string, checks: CheckOutcome[], none: string) =>
      this.judge(
        name,
        checks.length === 0 ? 'skipped' : checks.every((c) => c.ok) ? 'passed' : 'failed',
        checks.length === 0 ? none : summariseChecks(checks),
      );
    const http = of('http');
    const slow = http.filter((c) => !c.ok && /limit/.test(c.detail));
    this.judge(
      'Application performance within thresholds',
      http.length === 0 ? 'skipped' : slow.length ? 'failed' : 'passed',
      http.length === 0
        ? 'no health checks configured for this environment'
        : http.map((c) => `${c.name} ${c.latencyMs ?? '?'} ms`).join(', '),
    );
    const noHealth = 'no health checks configured for this environment';
    verdict('Error rates below acceptable limits', http, noHealth);
    verdict('Core functionality working', [...of('database'), ...http], 'no checks');
    verdict(
      'Data accuracy verified',
      of('row-counts'),
      'no critical tables configured (criticalTables)',
    );
    verdict('User workflows functional', of('sql'), 'no SQL checks configured (checks)');
    verdict('Integration points operational', http, noHealth);
  }
}
