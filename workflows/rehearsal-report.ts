import type { StagingRehearsalResult } from './definitions';
import { escapeCell, runHeader, stepsSection } from './text';

const MARK = { passed: '✅ passed', failed: '❌ failed', skipped: '➖ skipped' } as const;

/** The rehearsal report in Markdown: verdict, the guide's criteria, the steps with times. */
export function rehearsalReportMarkdown(
  workflowId: string,
  initiator: string,
  result: StagingRehearsalResult,
): string {
  const lines = [
    `# Staging rehearsal ${result.finalState === 'passed' ? 'PASSED' : 'FAILED'}`,
    '',
    ...runHeader(workflowId, result.environment, result.planChecksum, initiator),
    ...(result.failure ? [`- Failure: ${result.failure}`] : []),
    ...(typeof result.compensation === 'string' ? [`- Compensation: ${result.compensation}`] : []),
    ...(result.certificate
      ? [
          `- Certificate: recorded at ${result.certificate.at} (a production deploy of this plan may rely on it)`,
        ]
      : []),
    '',
    '## Staging validation criteria',
    '',
    '| Criterion | Result | Detail |',
    '|---|---|---|',
    ...result.criteria.map((c) => `| ${c.name} | ${MARK[c.status]} | ${escapeCell(c.detail)} |`),
    '',
    ...stepsSection(result.steps),
  ];
  return lines.join('\n');
}
