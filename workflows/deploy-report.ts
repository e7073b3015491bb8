import type { ProductionDeployResult } from './definitions';
import { runHeader, stepsSection } from './text';

const TITLE: Record<ProductionDeployResult['finalState'], string> = {
  completed: 'COMPLETED',
  rejected: 'REJECTED (no change made)',
  'approval-expired': 'APPROVAL EXPIRED (no change made)',
  'rolled-back': 'ROLLED BACK',
  'failed-needs-attention': 'FAILED — NEEDS ATTENTION',
};

/** The deploy report in Markdown: outcome and why, approvals, versions, steps with times. */
export function deployReportMarkdown(
  workflowId: string,
  initiator: string,
  result: ProductionDeployResult,
): string {
  const approvals = result.approvals;
  const lines = [
    `# Production deploy ${TITLE[result.finalState]}`,
    '',
    ...runHeader(workflowId, result.environment, result.planChecksum, initiator),
    ...(result.reason ? [`- Reason: ${result.reason}`] : []),
    ...(typeof result.compensation === 'string' ? [`- Compensation: ${result.compensation}`] : []),
    ...(result.fromVersion !== undefined
      ? [`- Database: version ${result.fromVersion} → ${result.toVersion ?? result.fromVersion}`]
      : []),
    ...(result.backupId ? [`- Backup: ${result.backupId}`] : []),
    ...(result.rehearsalWaiver
      ? [`- Rehearsal WAIVED by ${result.rehearsalWaiver.by}: ${result.rehearsalWaiver.reason}`]
      : []),
    '',
    '## Approvals',
    '',
    ...(approvals
      ? [
          `Required: ${approvals.required.join(', ') || 'none'}; missing: ${approvals.missing.join(', ') || 'none'}`,
          '',
          ...approvals.granted.map(
            (g) =>
              `- ✅ ${g.role} by ${g.approver} at ${g.at}${g.comment ? ` — ${g.comment}` : ''}`,
          ),
          ...(approvals.rejected
            ? [
                `- ❌ rejected by ${approvals.rejected.approver} at ${approvals.rejected.at}: ${approvals.rejected.reason}`,
              ]
            : []),
          ...approvals.refused.map((r) => `- 🚫 refused: ${r.summary} at ${r.at} — ${r.reason}`),
        ]
      : ['No approval gate was reached.']),
    '',
    ...stepsSection(result.steps),
  ];
  return lines.join('\n');
}
