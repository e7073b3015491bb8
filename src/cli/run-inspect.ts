import type { Client, WorkflowExecutionDescription, WorkflowFailedError } from '@temporalio/client';
import { isTemporalError } from '../temporal/sdk-errors';
import { UsageError } from '../errors';
import { webUiLink } from '../temporal/connection';
import { readRunAttributes } from './run-attributes';
import { formatBytes } from '../format';
import {
  approvalsQuery,
  progressQuery,
  WORKFLOW_TYPES,
  type ApprovalState,
  type Progress,
  type Step,
} from '../../workflows/definitions';

/** An activity the workflow is waiting on, with its last heartbeat in words. */
export interface PendingActivityView {
  activityType: string;
  state: string;
  attempt: number;
  /** `apply 007_add_region (7/200)`, `dumping 12.4 MB, 5 tables`… from the heartbeat details. */
  progress?: string;
  lastHeartbeatAt?: string;
  lastFailure?: string;
}

/** Everything `pgshift status` shows about one run; the same object is printed with --json. */
export interface RunView {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT… (Temporal's status). */
  status: string;
  environment?: string;
  kind?: string;
  phase?: string;
  initiator?: string;
  planChecksum?: string;
  summary?: string;
  startedAt: string;
  closedAt?: string;
  durationMs: number;
  link: string;
  currentDetails?: string;
  steps: Step[];
  approvals?: ApprovalState;
  pendingActivities: PendingActivityView[];
  fromVersion?: number;
  toVersion?: number;
  backupId?: string;
  /** The pgshift outcome: passed / completed / rolled-back / rejected… */
  finalState?: string;
  /** Why it ended this way (reason, failure). */
  reason?: string;
  /** The workflow's result when it completed (a summary, no credentials). */
  result?: Record<string, unknown>;
  /** The failure message when the workflow itself failed, was terminated or timed out. */
  failure?: string;
  /** Why live data (queries) is missing, e.g. no worker polling. */
  note?: string;
}

const QUERY_DEADLINE_MS = 5000;

/** `no workflow X in namespace Y: …` — exit 2. */
export function workflowNotFound(workflowId: string, namespace: string): UsageError {
  return new UsageError(
    `no workflow ${workflowId} in namespace ${namespace}: list runs with \`pgshift list\``,
  );
}

/**
 * Heartbeat details in words: migrations and rollback tests report
 * `{ phase, version, name, index (0-based), total }`, backups `{ phase, bytes, tables }`.
 */
export function describeHeartbeat(details: unknown): string | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const d = details as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof d.total === 'number' && typeof d.index === 'number') {
    const name =
      typeof d.name === 'string' ? d.name : typeof d.version === 'number' ? String(d.version) : '';
    const verb = d.direction === 'down' ? 'revert' : 'apply';
    const done = d.phase === 'done';
    parts.push(`${verb} ${name} (${d.index + 1}/${d.total}${done ? ', done' : ''})`.trim());
  } else if (typeof d.phase === 'string') parts.push(d.phase);
  if (typeof d.bytes === 'number') parts.push(formatBytes(d.bytes));
  if (typeof d.tables === 'number') parts.push(`${d.tables} tables`);
  const wait = d.lockWait as { waitingForMs?: number; blockers?: unknown } | undefined;
  if (wait && typeof wait === 'object' && Array.isArray(wait.blockers))
    parts.push(
      `waiting ${Math.round((wait.waitingForMs ?? 0) / 1000)}s for ${wait.blockers.join('; ')}`,
    );
  return parts.length ? parts.join(', ') : undefined;
}

/** temporal.api.enums.v1.PendingActivityState, by number. */
const ACTIVITY_STATES: Record<number, string> = {
  1: 'SCHEDULED',
  2: 'STARTED',
  3: 'CANCEL_REQUESTED',
  4: 'PAUSED',
  5: 'PAUSE_REQUESTED',
};

async function pendingActivities(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<PendingActivityView[]> {
  const out: PendingActivityView[] = [];
  // Loaded when a run is inspected, not when the CLI registers its commands.
  const { decodeArrayFromPayloads } = await import('@temporalio/common/lib/internal-non-workflow');
  for (const activity of description.raw.pendingActivities ?? []) {
    let progress: string | undefined;
    try {
      const [details] = await decodeArrayFromPayloads(
        client.options.loadedDataConverter,
        activity.heartbeatDetails?.payloads,
      );
      progress = describeHeartbeat(details);
    } catch {
      // undecodable details (another converter): show the activity without progress
    }
    const seconds = Number(activity.lastHeartbeatTime?.seconds ?? 0);
    const state =
      typeof activity.state === 'number'
        ? (ACTIVITY_STATES[activity.state] ?? String(activity.state))
        : String(activity.state ?? '');
    out.push({
      activityType: activity.activityType?.name ?? 'activity',
      state: state.replace(/^PENDING_ACTIVITY_STATE_/, '') || 'SCHEDULED',
      attempt: activity.attempt ?? 1,
      ...(progress ? { progress } : {}),
      ...(seconds ? { lastHeartbeatAt: new Date(seconds * 1000).toISOString() } : {}),
      ...(activity.lastFailure?.message ? { lastFailure: activity.lastFailure.message } : {}),
    });
  }
  return out;
}

function stateOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  return undefined;
}

/** Everything known about a run: describe(), the progress/approvals queries, the result. */
export async function inspectRun(client: Client, workflowId: string): Promise<RunView> {
  const handle = client.workflow.getHandle(workflowId);
  let description: WorkflowExecutionDescription;
  try {
    description = await handle.describe();
  } catch (error) {
    if (isTemporalError(error, 'WorkflowNotFoundError'))
      throw workflowNotFound(workflowId, client.options.namespace);
    throw error;
  }
  const attrs = readRunAttributes(description.typedSearchAttributes);
  const status = description.status.name;
  const started = description.startTime;
  const closed = description.closeTime;
  const view: RunView = {
    workflowId,
    runId: description.runId,
    workflowType: description.type,
    status,
    ...Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)),
    startedAt: started.toISOString(),
    ...(closed ? { closedAt: closed.toISOString() } : {}),
    durationMs: (closed ?? new Date()).getTime() - started.getTime(),
    link: webUiLink(workflowId, description.runId),
    steps: [],
    pendingActivities: await pendingActivities(client, description),
  };
  const summary = await description.staticSummary().catch(() => undefined);
  if (summary) view.summary = summary;

  if (status === 'RUNNING') {
    await addLiveState(client, view);
    return view;
  }
  await addOutcome(client, view);
  return view;
}

/** While running: the progress query (and approvals for a deploy), answered by a worker. */
async function addLiveState(client: Client, view: RunView): Promise<void> {
  const handle = client.workflow.getHandle(view.workflowId, view.runId);
  const deadline = () => Date.now() + QUERY_DEADLINE_MS;
  try {
    const progress: Progress = await client.withDeadline(deadline(), () =>
      handle.query(progressQuery),
    );
    view.steps = progress.steps;
    view.phase = progress.phase || view.phase;
    if (progress.currentDetails) view.currentDetails = progress.currentDetails;
  } catch (error) {
    view.note = `no live progress (${firstLine(error)}): is a pgshift worker running on the workflow's task queue?`;
    return;
  }
  if (view.kind === WORKFLOW_TYPES.productionDeploy || view.workflowType === 'productionDeploy') {
    try {
      view.approvals = await client.withDeadline(deadline(), () => handle.query(approvalsQuery));
    } catch {
      // before the approvals gate is set up, or a workflow without that query
    }
  }
}

/** When closed: the result (or failure) is the truth; queries may find no worker. */
async function addOutcome(client: Client, view: RunView): Promise<void> {
  const handle = client.workflow.getHandle(view.workflowId, view.runId);
  try {
    const result = (await handle.result()) as unknown;
    if (result && typeof result === 'object') {
      const r = result as Record<string, unknown>;
      view.result = r;
      if (Array.isArray(r.steps)) view.steps = r.steps as Step[];
      if (r.approvals && typeof r.approvals === 'object')
        view.approvals = r.approvals as ApprovalState;
      view.finalState = stateOf(r.finalState);
      const reason = stateOf(r.reason) ?? stateOf(r.failure);
      if (reason) view.reason = reason;
      if (typeof r.fromVersion === 'number') view.fromVersion = r.fromVersion;
      if (typeof r.toVersion === 'number') view.toVersion = r.toVersion;
      if (typeof r.backupId === 'string') view.backupId = r.backupId;
      else if (r.backup && typeof r.backup === 'object') {
        const id = (r.backup as Record<string, unknown>).id;
        if (typeof id === 'string') view.backupId = id;
      }
    }
  } catch (error) {
    view.failure =
      isTemporalError<WorkflowFailedError>(error, 'WorkflowFailedError') && error.cause
        ? `${error.message}: ${firstLine(error.cause)}`
        : firstLine(error);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0];
}

/** True when the run ended the way its initiator hoped (exit 0 for `watch`). */
export function endedWell(view: RunView): boolean {
  if (view.status !== 'COMPLETED') return false;
  return ['passed', 'completed', 'no-action', undefined].includes(view.finalState);
}

// ───────────────────────────── list ─────────────────────────────

export const EXECUTION_STATUSES = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
  timedout: 'TimedOut',
  'continued-as-new': 'ContinuedAsNew',
} as const;

export interface ListFilter {
  environment?: string;
  kind?: string;
  status?: string;
  phase?: string;
  limit?: number;
}

/** One line of `pgshift list`: the run's identity, attributes and times. */
export type RunListRow = Pick<
  RunView,
  | 'workflowId'
  | 'runId'
  | 'workflowType'
  | 'status'
  | 'environment'
  | 'kind'
  | 'phase'
  | 'initiator'
  | 'startedAt'
  | 'closedAt'
  | 'durationMs'
  | 'link'
>;

const quote = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The visibility query of `pgshift list`: pgshift's runs only (by PgshiftWorkflowKind),
 * narrowed by environment, kind, phase and ExecutionStatus.
 */
export function buildListQuery(filter: ListFilter): string {
  const kinds = Object.keys(WORKFLOW_TYPES);
  const clauses: string[] = [];
  if (filter.kind) {
    if (!kinds.includes(filter.kind))
      throw new UsageError(
        `--kind ${filter.kind} is not a pgshift workflow: use ${kinds.join(', ')}`,
      );
    clauses.push(`PgshiftWorkflowKind = ${quote(filter.kind)}`);
  } else clauses.push(`PgshiftWorkflowKind IN (${kinds.map(quote).join(', ')})`);
  if (filter.environment) clauses.push(`PgshiftEnvironment = ${quote(filter.environment)}`);
  if (filter.phase) clauses.push(`PgshiftPhase = ${quote(filter.phase)}`);
  if (filter.status) {
    const status =
      EXECUTION_STATUSES[filter.status.toLowerCase() as keyof typeof EXECUTION_STATUSES];
    if (!status)
      throw new UsageError(
        `--status ${filter.status} is not a run status: use running, completed, failed, canceled, terminated or timed-out`,
      );
    clauses.push(`ExecutionStatus = ${quote(status)}`);
  }
  return clauses.join(' AND ');
}

/** Recent pgshift runs, newest first, from the visibility API. */
export async function listRuns(client: Client, filter: ListFilter): Promise<RunListRow[]> {
  const query = buildListQuery(filter);
  const limit = filter.limit ?? 20;
  const rows: RunListRow[] = [];
  if (limit <= 0) return rows;
  for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
    const attrs = readRunAttributes(info.typedSearchAttributes);
    rows.push({
      workflowId: info.workflowId,
      runId: info.runId,
      workflowType: info.type,
      status: info.status.name,
      ...Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)),
      startedAt: info.startTime.toISOString(),
      ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
      durationMs: (info.closeTime ?? new Date()).getTime() - info.startTime.getTime(),
      link: webUiLink(info.workflowId, info.runId),
    } as RunListRow);
    if (rows.length >= limit) break;
  }
  return rows;
}
