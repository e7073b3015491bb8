import { CancellationScope } from '@temporalio/workflow';
import { quick } from '../activity-proxies';
import type { StagingRehearsalResult } from '../definitions';
import { rehearsalReportMarkdown } from '../rehearsal-report';
import { finishRun, writeRunReport } from '../steps/finish-run';
import type { RehearsalRun } from './run';

/**
 * The end of every rehearsal, passed or not: settle the criteria, record the certificate of a
 * passing one, write the report, then rethrow a cancellation the run absorbed.
 */
export function finishRehearsal(run: RehearsalRun): Promise<StagingRehearsalResult> {
  const { environment, plan, workflowId, tracker, top, failure, securityOk } = run;
  const passed = failure === undefined;
  run.judge(
    'Security measures active',
    securityOk ? 'passed' : 'failed',
    securityOk
      ? 'safety validation found no secrets and no unsafe statements'
      : 'validation did not pass (see failure)',
  );
  run.criteria.settleRest(passed, failure);
  return CancellationScope.nonCancellable(async () => {
    tracker.start('report', 'writing the rehearsal report');
    const certificate = passed
      ? await quick.recordRehearsalCertificate.executeWithOptions(
          { summary: `record rehearsal certificate for plan ${run.shortPlan}` },
          [{ environment, planChecksum: plan.checksum, workflowId, toVersion: top }],
        )
      : undefined;
    const result: StagingRehearsalResult = {
      finalState: passed ? 'passed' : 'failed',
      environment,
      planChecksum: plan.checksum,
      criteria: run.criteria.list(),
      steps: tracker.progress.steps,
      ...(certificate
        ? {
            certificate: {
              environment,
              planChecksum: plan.checksum,
              workflowId,
              at: certificate.passedAt,
            },
          }
        : {}),
      ...(failure ? { failure } : {}),
      ...(run.compensation ? { compensation: run.compensation } : {}),
      ...(run.backup ? { backupId: run.backup.id } : {}),
      fromVersion: run.fromVersion,
      toVersion: passed ? top : run.fromVersion,
    };
    const reportPath = await writeRunReport(
      tracker,
      'report',
      {
        workflowId,
        kind: 'rehearsal',
        summary: 'write rehearsal report',
        markdown: rehearsalReportMarkdown(workflowId, run.initiator, result),
        data: result,
      },
      // A rehearsal without its report is not finished: the failure ends the run.
      { required: true },
    );
    if (reportPath) result.reportPath = reportPath;
    result.steps = tracker.progress.steps;
    await finishRun(tracker, {
      finalState: result.finalState,
      detail: passed
        ? `rehearsal passed: ${environment} at version ${top}, certificate recorded for plan ${run.shortPlan}`
        : `rehearsal failed: ${failure}. ${run.compensation ?? `${environment} unchanged`}`,
      rethrow: run.cancelled,
    });
    return result;
  });
}
