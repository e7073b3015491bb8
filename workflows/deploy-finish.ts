import { allHandlersFinished, CancellationScope, condition } from '@temporalio/workflow';
import type { ApplicationFailure } from '@temporalio/workflow';
import type { NotificationSeverity } from '../src/app/notify';
import type { PlanRef } from '../src/migrations/types';
import { quick } from './activity-proxies';
import type { DeployFinalState, ProductionDeployResult } from './definitions';
import type { ApprovalGate } from './deploy-approval-gate';
import { deployReportMarkdown } from './deploy-report';
import type { DeployRun } from './deploy-run';
import { describeFailure } from './failures';
import type { ProgressTracker } from './progress-tracker';

/** What the end of a deploy reads. */
export interface DeployEndContext {
  environment: string;
  plan: PlanRef;
  initiator: string;
  workflowId: string;
  top: number;
  tracker: ProgressTracker;
  run: DeployRun;
  gate: ApprovalGate;
  tell: (severity: NotificationSeverity, title: string, text: string) => Promise<void>;
  record: (status: string, reason?: string) => Promise<void>;
}

/** How the deploy ended: a final state, or a refusal before any change; and a cancellation. */
export interface DeployEnding {
  ending?: { finalState: DeployFinalState; reason: string };
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
  ctx: DeployEndContext,
  { ending, refusal, cancelled }: DeployEnding,
  facts: { waiver?: { reason: string; by: string }; highRisk: boolean; riskReasons: string[] },
): Promise<ProductionDeployResult> {
  const { environment, plan, initiator, workflowId, top, tracker, run, gate, tell, record } = ctx;
  const waiver = facts.waiver;
  return CancellationScope.nonCancellable(async () => {
    gate.close(
      ending
        ? `the deploy has ended (${ending.finalState})`
        : 'the deploy was refused before its approval gate',
    );
    const endReason = ending?.reason ?? refusal?.message ?? '';
    for (const step of tracker.progress.steps)
      if (step.status === 'pending' && step.name !== 'report')
        tracker.skip(step.name, `not reached: ${ending?.finalState ?? 'refused'}`);
    if (!ending) {
      await tell('warning', `Deploy to ${environment} refused`, endReason);
      tracker.skip('report', 'no report for a refused deploy');
      tracker.finish('refused', endReason);
      await condition(allHandlersFinished);
      throw refusal!;
    }
    const { finalState, reason } = ending;
    if (run.backup) await record(finalState, reason);
    const endedAt =
      finalState === 'completed' ? top : finalState === 'rolled-back' ? run.fromVersion : undefined;
    await tell(
      NOTIFY_SEVERITY[finalState],
      `Deploy to ${environment} ${finalState}`,
      `${reason}${run.compensation ? `\nCompensation: ${run.compensation.detail}` : ''}`,
    );
    const result: ProductionDeployResult = {
      finalState,
      environment,
      planChecksum: plan.checksum,
      reason,
      approvals: gate.state,
      steps: tracker.progress.steps,
      fromVersion: run.fromVersion,
      ...(endedAt !== undefined ? { toVersion: endedAt } : {}),
      targetVersion: top,
      ...(run.backup ? { backupId: run.backup.id } : {}),
      ...(waiver ? { rehearsalWaiver: waiver } : {}),
      ...(run.trigger ? { trigger: run.trigger.kind } : {}),
      ...(run.compensation ? { compensation: run.compensation.detail } : {}),
      ...(run.appVersionBefore ? { appVersionBefore: run.appVersionBefore } : {}),
      ...(run.appVersionAfter ? { appVersionAfter: run.appVersionAfter } : {}),
      highRisk: facts.highRisk,
      ...(facts.riskReasons.length ? { riskReasons: facts.riskReasons } : {}),
    };
    tracker.start('report', 'writing the deploy report');
    try {
      const report = await quick.writeReport.executeWithOptions(
        { summary: 'write deploy report' },
        [
          {
            workflowId,
            kind: 'deploy',
            markdown: deployReportMarkdown(workflowId, initiator, result),
            data: result,
          },
        ],
      );
      result.reportPath = report.path;
      tracker.complete('report', report.path);
    } catch (error) {
      tracker.fail('report', describeFailure(error).message);
    }
    result.steps = tracker.progress.steps;
    tracker.finish(finalState, `${finalState}: ${reason}`);
    await condition(allHandlersFinished);
    if (cancelled) throw cancelled;
    return result;
  });
}
