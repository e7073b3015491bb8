import { noWorkerWarning } from './worker-presence';
import type {
  Client,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { z } from 'zod';
import { isTemporalError } from '../temporal/sdk-errors';
import { errorClass, UsageError } from '../errors';
import { parseOrRefuse } from '../schema-parse';
import { webUiLink } from '../temporal/connection';
import { taskQueueFromEnv } from '../temporal/task-queue';
import { runAttributePairs } from './run-attributes';
import {
  progressQuery,
  type Progress,
  type Step,
  type WorkflowKind,
} from '../../workflows/definitions';
import { STEP_ICON } from '../../workflows/step-icons';
import type { PlanRef } from '../migrations/types';

export interface StartRequest {
  kind: WorkflowKind;
  workflowId: string;
  input: unknown;
  environment: string;
  initiator: string;
  planChecksum?: string;
  /** One line for the Web UI's workflow list. */
  summary: string;
  /** Markdown for the Web UI's workflow page. */
  details: string;
}

/** "12 migrations up to 12". */
export function planSize(plan: PlanRef): string {
  const top = Math.max(...plan.migrations.map((m) => m.version));
  return `${plan.migrations.length} migrations up to ${top}`;
}

/**
 * The start request of a run of a migration plan: where, who and which plan come from its
 * input; the Web UI summary reads "<what>: 12 migrations up to 12<extra>, plan 1a2b3c4d5e6f".
 */
export function planRunRequest(
  request: Pick<StartRequest, 'kind' | 'workflowId' | 'details'> & {
    input: { environment: string; initiator: string };
    plan: PlanRef;
    what: string;
    extra?: string;
  },
): StartRequest {
  const { input, plan, what, extra = '', ...rest } = request;
  return {
    ...rest,
    input,
    environment: input.environment,
    initiator: input.initiator,
    planChecksum: plan.checksum,
    summary: `${what}: ${planSize(plan)}${extra}, plan ${plan.checksum.slice(0, 12)}`,
  };
}

/**
 * The largest workflow input pgshift starts: Temporal refuses a payload over 2 MB. A plan
 * travels as a reference (names, flags, checksums; the SQL is in the plan store), about 300
 * bytes per migration, so this is reached only past about 6,000 migrations.
 */
export const MAX_WORKFLOW_INPUT_BYTES = 2 * 1024 * 1024;

/** Throws UsageError when `input` is larger than Temporal accepts for one payload. */
export function assertWorkflowInputSize(kind: WorkflowKind, input: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(input ?? null), 'utf8');
  if (bytes <= MAX_WORKFLOW_INPUT_BYTES) return;
  const plan = (input as { plan?: { migrations?: unknown[] } } | undefined)?.plan;
  const count = plan?.migrations?.length;
  throw new UsageError(
    `the ${kind} input is ${(bytes / 1024 / 1024).toFixed(1)} MB${count !== undefined ? ` (a plan of ${count} migrations)` : ''}, over Temporal's limit of ${MAX_WORKFLOW_INPUT_BYTES / 1024 / 1024} MB for one payload, even with the SQL in the plan store (a migration takes about 300 bytes of it): nothing was started`,
  );
}

/** Starts a pgshift workflow with its search attributes and Web UI text; a running duplicate is a clear error. */
export async function startPgshiftWorkflow(
  client: Client,
  request: StartRequest,
): Promise<{ handle: WorkflowHandleWithFirstExecutionRunId; link: string }> {
  assertWorkflowInputSize(request.kind, request.input);
  const attributes = runAttributePairs({
    environment: request.environment,
    kind: request.kind,
    phase: 'starting',
    initiator: request.initiator,
    planChecksum: request.planChecksum || undefined,
  });
  try {
    const handle = await client.workflow.start(request.kind, {
      taskQueue: taskQueueFromEnv(),
      workflowId: request.workflowId,
      args: [request.input],
      typedSearchAttributes: attributes,
      staticSummary: request.summary,
      staticDetails: request.details,
    });
    const warning = await noWorkerWarning(client, taskQueueFromEnv());
    if (warning) process.stderr.write(`pgshift: warning: ${warning}\n`);
    return { handle, link: webUiLink(request.workflowId, handle.firstExecutionRunId) };
  } catch (error) {
    if (isTemporalError(error, 'WorkflowExecutionAlreadyStartedError'))
      throw new UsageError(
        `workflow ${request.workflowId} is already running: follow it with \`pgshift watch ${request.workflowId}\` (Web UI: ${webUiLink(request.workflowId)})`,
      );
    throw error;
  }
}

export function formatStep(step: Step): string {
  const took =
    step.startedAt && step.endedAt
      ? ` (${((Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000).toFixed(1)}s)`
      : '';
  return `${STEP_ICON[step.status]} ${step.name}: ${step.status}${took}${step.detail ? ` — ${step.detail}` : ''}`;
}

/**
 * Prints each step as it changes (polling the `progress` query) until the workflow ends,
 * then returns its result, read through the workflow's result schema (workflows/contracts/). Conditions, not sleeps: the loop ends when the run does.
 */
export async function followProgress<S extends z.ZodType>(
  handle: WorkflowHandle,
  print: (line: string) => void,
  resultSchema: S,
  intervalMs = 500,
): Promise<z.output<S>> {
  const seen = new Map<string, string>();
  let done = false;
  const result = handle.result().finally(() => {
    done = true;
  });
  result.catch(() => undefined);
  const report = (progress: Progress) => {
    for (const step of progress.steps) {
      const line = formatStep(step);
      if (step.status !== 'pending' && seen.get(step.name) !== line) {
        seen.set(step.name, line);
        print(`  ${line}`);
      }
    }
  };
  while (!done) {
    try {
      report(await handle.query(progressQuery));
    } catch {
      // not started by a worker yet, or finished between polls
    }
    await Promise.race([
      result.catch(() => undefined),
      new Promise((r) => setTimeout(r, intervalMs)),
    ]);
  }
  try {
    report(await handle.query(progressQuery));
  } catch {
    // closed workflows answer queries only while a worker is up
  }
  return parseResult(handle.workflowId, resultSchema, await result);
}

/** The worker returned a result its contract does not declare (CLI and worker of different versions). */
export class UnexpectedResultError extends errorClass('UnexpectedResultError', 2) {}

/** A workflow's result read through its contract's schema: every field declared, nothing else. */
export function parseResult<S extends z.ZodType>(
  workflowId: string,
  schema: S,
  result: unknown,
): z.output<S> {
  return parseOrRefuse(
    schema,
    result,
    (issues) =>
      new UnexpectedResultError(
        `the result of ${workflowId} does not match its contract in workflows/contracts/ (${issues}): are the pgshift CLI and the worker the same version?`,
      ),
    { root: 'result', limit: 5 },
  );
}

/** Waits for a workflow's end and reads its result through its contract's schema. */
export async function readResult<S extends z.ZodType>(
  handle: WorkflowHandle,
  schema: S,
): Promise<z.output<S>> {
  return parseResult(handle.workflowId, schema, await handle.result());
}
