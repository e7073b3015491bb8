import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { parseOrRefuse } from '../src/schema-parse';
import type { Step } from './definitions';
import type { VerificationReport } from '../activities/verify';

/**
 * Small pure text helpers shared by the workflows and their reports (deterministic: no
 * clock, no I/O).
 */

/** `7` → `007`, as migration files are numbered (src/format.ts). */
export { formatVersion as padVersion } from '../src/format';

export function firstLine(text: string): string {
  return text.split('\n')[0];
}

/** Text safe inside a Markdown table cell. */
export function escapeCell(text: string | undefined | null): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The first lines of a run's report: workflow, environment, plan, who started it. */
export function runHeader(
  workflowId: string,
  environment: string,
  planChecksum: string,
  initiator: string,
): string[] {
  return [
    `- Workflow: \`${workflowId}\``,
    `- Environment: ${environment}`,
    `- Plan checksum: \`${planChecksum}\``,
    `- Started by: ${initiator}`,
  ];
}

/** The steps of a run as a Markdown table (reports and incident documents). */
export function stepsTable(steps: Step[]): string[] {
  return [
    '| Step | Status | Started | Ended | Detail |',
    '|---|---|---|---|---|',
    ...steps.map(
      (s) =>
        `| ${s.name} | ${s.status} | ${s.startedAt ?? ''} | ${s.endedAt ?? ''} | ${escapeCell(s.detail ?? '')} |`,
    ),
  ];
}

/** The closing section of a run's report: its steps with their times. */
export function stepsSection(steps: Step[]): string[] {
  return ['## Steps', '', ...stepsTable(steps), ''];
}

/** `name: detail; …` of the checks that failed. */
export function failedChecks(report: VerificationReport): string {
  return report.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.name}: ${c.detail}`)
    .join('; ');
}

/** `✓ name (detail), ✗ name (detail)` of every check. */
export function summariseChecks(checks: VerificationReport['checks']): string {
  return checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name} (${c.detail})`).join(', ');
}

/** The failure of a plan whose validation found errors: the first five, with file and line. */
export function validationFailure(
  errors: { file?: string; line?: number; message: string }[],
): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'ValidationFailed',
    nonRetryable: true,
    message: `validation found ${errors.length} error(s): ${errors
      .slice(0, 5)
      .map((f) => `${f.file ?? ''}${f.line ? `:${f.line}` : ''} ${f.message}`)
      .join('; ')}`,
  });
}

/**
 * Validates a workflow input with its zod schema; a malformed input fails the workflow
 * (not the task) with a non-retryable `InvalidInput` naming every bad key.
 */
export function parseWorkflowInput<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  what: string,
): z.output<S> {
  return parseOrRefuse(schema, raw, (issues) =>
    ApplicationFailure.nonRetryable(`invalid ${what} input: ${issues}`, 'InvalidInput'),
  );
}
