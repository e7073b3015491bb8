import { CancellationScope } from '@temporalio/workflow';
import type { ApplicationFailure } from '@temporalio/workflow';
import type { NotificationSeverity } from '../src/app/notify';
import type { DeployFinalState, ProductionDeployResult } from './definitions';
import { deployReportMarkdown } from './deploy-report';
import type { DeployEnding, DeployRun } from './deploy-run';
import { finishRun, skipPendingSteps, writeRunReport } from './steps/finish-run';

/** How the deploy ended: a final state, or a refusal before any change; and a cancellation. */
export interface DeployOutcome {
  ending?: DeployEnding;
  refusal?: ApplicationFailure;
  cancelled?: unknown;
}

const NOTIFY_SEVERITY: Record<DeployFinalState, NotificationSeverity> = {
  completed: 'success',
  rejected: 'warning',
  'approval-expired': 'warning',
  'rolled-back': 'critical',
  'failed-needs-attention': 'critical',
};

/**
 * The end of every deploy, cancelled or not: close the gate, skip what was not reached, record,
 * notify, write the report, then rethrow a refusal or a cancellation.
 */
export function finishDeploy(
  run: DeployRun,
  { ending, refusal, cancelled }: DeployOutcome,
): Promise<ProductionDeployResult> {
  const { environment, tracker, gate } = run;
  return CancellationScope.nonCancellable(async () => {
    gate.close(
      ending
        ? `the deploy has ended (${ending.finalState})`
        : 'the deploy was refused before its approval gate',
    );
    skipPendingSteps(tracker, `not reached: ${ending?.finalState ?? 'refused'}`, ['report']);
    if (!ending) {
      const reason = refusal!.message;
      await run.tell('warning', `Deploy to ${environment} refused`, reason);
      tracker.skip('report', 'no report for a refused deploy');
      await finishRun(tracker, {
        finalState: 'refused',
        detail: reason,
        rethrow: refusal,
        waitForHandlers: true,
      });
    }
    const { finalState, reason } = ending!;
    if (run.backup) await run.record(finalState, reason);
    await run.tell(
      NOTIFY_SEVERITY[finalState],
      `Deploy to ${environment} ${finalState}`,
      `${reason}${run.compensation ? `\nCompensation: ${run.compensation.detail}` : ''}`,
    );
    const result = deployResult(run, ending!);
    tracker.start('report', 'writing the deploy report');
    const reportPath = await writeRunReport(tracker, 'report', {
      workflowId: run.workflowId,
      kind: 'deploy',
      summary: 'write deploy report',
      markdown: deployReportMarkdown(run.workflowId, run.initiator, result),
      data: result,
    });
    if (reportPath) result.reportPath = reportPath;
    result.steps = tracker.progress.steps;
    await finishRun(tracker, {
      finalState,
      detail: `${finalState}: ${reason}`,
      rethrow: cancelled,
      waitForHandlers: true,
    });
    return result;
  });
}

/** What the deploy returns (and its report's data): the contract's result, every field. */
function deployResult(
  run: DeployRun,
  { finalState, reason }: DeployEnding,
): ProductionDeployResult {
  const riskReasons = run.validation?.riskReasons ?? [];
  const endedAt =
    finalState === 'completed'
      ? run.top
      : finalState === 'rolled-back'
        ? run.fromVersion
        : undefined;
  return {
    finalState,
    environment: run.environment,
    planChecksum: run.plan.checksum,
    reason,
    approvals: run.gate.state,
    steps: run.tracker.progress.steps,
    fromVersion: run.fromVersion,
    ...(endedAt !== undefined ? { toVersion: endedAt } : {}),
    targetVersion: run.top,
    ...(run.backup ? { backupId: run.backup.id } : {}),
    ...(run.waiver ? { rehearsalWaiver: run.waiver } : {}),
    ...(run.trigger ? { trigger: run.trigger.kind } : {}),
    ...(run.compensation ? { compensation: run.compensation.detail } : {}),
    ...(run.appVersionBefore ? { appVersionBefore: run.appVersionBefore } : {}),
    ...(run.appVersionAfter ? { appVersionAfter: run.appVersionAfter } : {}),
    highRisk: (run.validation?.highRisk ?? false) || run.options.highRisk === true,
    ...(riskReasons.length ? { riskReasons } : {}),
  };
}
