import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { UsageError } from '../../errors';
import type { PlanRef } from '../../migrations/types';
import { connectClient } from '../../temporal/connection';
import {
  environmentLockId,
  ISSUE_TYPES,
  incidentIdFor,
  SEVERITIES,
  submitRollbackApprovalUpdate,
  type ApprovalUpdateResult,
  type EmergencyRollbackInput,
  emergencyRollbackResultSchema,
  type EmergencyRollbackResult,
  type IssueType,
  type Severity,
} from '../../../workflows/definitions';
import {
  describeActive,
  listActiveWorkflows,
  startWithEnvironmentLock,
  type ActiveWorkflow,
} from '../environment-lock';
import { resolveInitiator } from '../initiator';
import { emit } from '../output';
import { storePlanForWorkflow } from '../plan-input';
import { followProgress, readResult, startPgshiftWorkflow } from '../workflow-runs';
import { signDecision, type SigningFlags } from '../signing';
import { prepareSignedDecision } from './approve';
import type { SignedDecisionFlags } from '../signing-options';

export interface RollbackOptions {
  env: string;
  fleet?: string;
  migrationTarget?: string;
  appRollback?: boolean;
  fullEmergency?: boolean;
  statusOnly?: boolean;
  issue?: string;
  severity?: string;
  breakGlass?: boolean;
  reason?: string;
  acceptChangedRollback?: string;
  description?: string;
  dir: string;
  wait?: boolean;
  as?: string;
  watchWindow?: string;
  watchInterval?: string;
  approvalTimeout?: string;
  json?: boolean;
  key?: string;
  validFor?: string;
}

function parseTarget(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n))
    throw new UsageError(
      `--migration-target=${value} is not a migration number (e.g. --migration-target=8)`,
    );
  return n;
}

/** Turns the flags into the workflow input; every usage problem is reported at once. */
export function buildRollbackInput(
  opts: RollbackOptions,
  initiator: string,
  plan?: PlanRef,
): EmergencyRollbackInput {
  const problems: string[] = [];
  const modes = [
    opts.migrationTarget !== undefined && '--migration-target',
    opts.appRollback && '--app-rollback',
    opts.fullEmergency && '--full-emergency',
    opts.statusOnly && '--status-only',
  ].filter(Boolean);
  if (modes.length > 1) problems.push(`choose one of ${modes.join(', ')}`);
  if (opts.issue && !ISSUE_TYPES.includes(opts.issue as IssueType))
    problems.push(`--issue ${opts.issue} is unknown: use ${ISSUE_TYPES.join(', ')}`);
  if (opts.severity && !SEVERITIES.includes(opts.severity as Severity))
    problems.push(`--severity ${opts.severity} is unknown: use ${SEVERITIES.join(', ')}`);
  if (modes.length === 0 && !(opts.issue && opts.severity))
    problems.push(
      'say what to do: --migration-target=N, --app-rollback, --full-emergency or --status-only, or --issue and --severity for the decision matrix',
    );
  if (opts.breakGlass && !opts.reason?.trim())
    problems.push('--break-glass needs --reason "<why the approval cannot wait>"');
  if (opts.reason && !opts.breakGlass) problems.push('--reason goes with --break-glass');
  if (opts.acceptChangedRollback !== undefined && !opts.acceptChangedRollback.trim())
    problems.push('--accept-changed-rollback needs a reason');
  let migrationTarget: number | undefined;
  try {
    if (opts.migrationTarget !== undefined) migrationTarget = parseTarget(opts.migrationTarget);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length) throw new UsageError(problems.join('; '));
  const mode = opts.statusOnly
    ? 'status-only'
    : opts.fullEmergency
      ? 'full-emergency'
      : opts.appRollback
        ? 'application'
        : migrationTarget !== undefined
          ? 'migration'
          : undefined;
  const options = {
    ...(opts.watchWindow ? { watchWindow: opts.watchWindow } : {}),
    ...(opts.watchInterval ? { watchInterval: opts.watchInterval } : {}),
    ...(opts.approvalTimeout ? { approvalTimeout: opts.approvalTimeout } : {}),
  };
  return {
    environment: opts.env,
    initiator,
    ...(mode ? { mode } : {}),
    ...(migrationTarget !== undefined ? { migrationTarget } : {}),
    ...(opts.issue ? { issue: opts.issue as IssueType } : {}),
    ...(opts.severity ? { severity: opts.severity as Severity } : {}),
    ...(opts.breakGlass ? { breakGlass: { reason: opts.reason!.trim() } } : {}),
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.acceptChangedRollback
      ? { acceptChangedRollback: { reason: opts.acceptChangedRollback.trim() } }
      : {}),
    ...(plan ? { plan } : {}),
    options,
  };
}

/**
 * The rollback files, when the database may be rolled back. A migration rollback needs them;
 * a full emergency rollback can restore the deploy's backup instead, so a missing or broken
 * folder is a warning there.
 */
async function readPlanFor(
  opts: RollbackOptions,
  warn: (line: string) => void,
): Promise<PlanRef | undefined> {
  const required = opts.migrationTarget !== undefined;
  if (opts.appRollback) return undefined;
  if (!existsSync(opts.dir)) {
    if (required)
      throw new UsageError(
        `no migrations folder ${opts.dir}: a migration rollback needs its rollback files (pass --dir)`,
      );
    warn(`no migrations folder ${opts.dir}: rolling back without rollback files`);
    return undefined;
  }
  try {
    return await storePlanForWorkflow(opts.dir);
  } catch (error) {
    if (required) throw error;
    warn(
      `cannot use the rollback files in ${opts.dir} (${(error as Error).message.split('\n')[0]}): a full emergency rollback restores the deploy's backup instead`,
    );
    return undefined;
  }
}

/**
 * Starts the emergency rollback. A rollback holds the environment lock (one deploy or
 * rollback at a time); `--status-only` changes nothing and runs beside anything.
 */
export async function startRollback(
  client: Client,
  input: EmergencyRollbackInput,
): Promise<{
  workflowId: string;
  handle: Awaited<ReturnType<typeof startPgshiftWorkflow>>['handle'];
  link: string;
}> {
  const what =
    input.mode === 'status-only'
      ? 'status'
      : input.mode
        ? `${input.mode} rollback${input.migrationTarget !== undefined ? ` to ${input.migrationTarget}` : ''}`
        : `rollback chosen by the decision matrix (${input.issue} ${input.severity})`;
  const request = {
    kind: 'emergencyRollback' as const,
    input,
    environment: input.environment,
    initiator: input.initiator,
    ...(input.plan ? { planChecksum: (input.plan as PlanRef).checksum } : {}),
    summary: `Emergency ${what} on ${input.environment}`,
    details: `Started by **${input.initiator}**${input.breakGlass ? ` with **break-glass**: ${input.breakGlass.reason}` : ''}. Assess impact → approval (data loss in production) → emergency backup → notify → execute and verify each step → verify system → watch thresholds → incident document → post-mortem.`,
  };
  if (input.mode === 'status-only') {
    const workflowId = `${incidentIdFor(input.environment, Date.now())}-status`;
    const started = await startPgshiftWorkflow(client, { ...request, workflowId });
    return { workflowId, ...started };
  }
  const started = await startWithEnvironmentLock(client, request);
  return { workflowId: environmentLockId(input.environment), ...started };
}

export async function rollbackCommand(opts: RollbackOptions): Promise<number> {
  const log = (line: string) => {
    if (!opts.json) process.stdout.write(line + '\n');
  };
  const warn = (line: string) => process.stderr.write(`pgshift: warning: ${line}\n`);
  const initiator = resolveInitiator(opts.as);
  buildRollbackInput(opts, initiator); // usage errors before reading files or connecting
  const plan = await readPlanFor(opts, warn);
  let input = buildRollbackInput(opts, initiator, plan);
  const client = await connectClient();
  try {
    if (opts.key && input.mode !== 'status-only')
      input = await signRollbackStart(client.options.namespace, input, {
        key: opts.key,
        validFor: opts.validFor,
      });
    const { workflowId, handle, link } = await startRollback(client, input);
    if (input.mode === 'status-only') {
      const result = await readResult(handle, emergencyRollbackResultSchema);
      const running = (await listActiveWorkflows(client, input.environment)).filter(
        (w) => w.workflowId !== workflowId,
      );
      emit(opts, { ...result, running }, (r) => formatStatus(r, running));
      return 0;
    }
    log(`Started emergency rollback ${workflowId} on ${input.environment}`);
    log(`Web UI: ${link}`);
    log(
      `If it needs an approval: \`pgshift rollback approve --env ${input.environment} --as <name>\` or \`temporal workflow signal --workflow-id ${workflowId} --name approveRollback --input '{"approver":"<name>"}'\``,
    );
    if (!opts.wait) {
      emit(opts, { workflowId, runId: handle.firstExecutionRunId, link }, () => '');
      return 0;
    }
    const result = await followProgress(handle, log, emergencyRollbackResultSchema);
    emit(opts, result, formatResult);
    return result.finalState === 'completed' || result.finalState === 'no-action' ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}

export interface RollbackApproveOptions extends SignedDecisionFlags {
  env: string;
  as?: string;
  comment?: string;
  json?: boolean;
}

export async function approveCommand(opts: RollbackApproveOptions): Promise<number> {
  const approver = resolveInitiator(opts.as);
  const comment = opts.comment?.trim();
  const client = await connectClient();
  try {
    const workflowId = environmentLockId(opts.env);
    const prepared = await prepareSignedDecision(
      client,
      workflowId,
      { action: 'rollback-approve', person: approver, reason: comment ?? '' },
      opts,
    );
    if (prepared.printed) return 0;
    const handle = client.workflow.getHandle(workflowId);
    const result: ApprovalUpdateResult = await handle.executeUpdate(submitRollbackApprovalUpdate, {
      args: [{ approver, ...(comment ? { comment } : {}), ...prepared.signed }],
    });
    emit(opts, result, (r) =>
      r.accepted
        ? `Approved the emergency rollback of ${opts.env} as ${approver}`
        : `Refused: ${r.reason ?? 'unknown reason'}`,
    );
    return result.accepted ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}

/**
 * `--key`: the initiator signs the start (`initiate-rollback`) and a break-glass, before the run
 * exists (`run-id: none`), for the environment's lock workflow the rollback runs as.
 */
export async function signRollbackStart(
  namespace: string,
  input: EmergencyRollbackInput,
  flags: SigningFlags & { key: string },
): Promise<EmergencyRollbackInput> {
  const target = {
    namespace,
    environment: input.environment,
    workflowId: environmentLockId(input.environment),
    runId: null,
    planChecksum: (input.plan as PlanRef | undefined)?.checksum ?? null,
  };
  const start = await signDecision(target, 'initiate-rollback', input.initiator, '', flags);
  const breakGlass = input.breakGlass;
  return {
    ...input,
    ...start,
    ...(breakGlass
      ? {
          breakGlass: {
            ...breakGlass,
            ...(await signDecision(
              target,
              'break-glass',
              input.initiator,
              breakGlass.reason,
              flags,
            )),
          },
        }
      : {}),
  };
}

/** The human rendering of a finished rollback. */
export function formatResult(r: EmergencyRollbackResult): string {
  const lines = [
    '',
    `Emergency rollback ${r.finalState.toUpperCase()} on ${r.environment} (${r.type})${r.reason ? `: ${r.reason}` : ''}`,
  ];
  if (r.decision) lines.push(`Decision: ${r.decision.reason}`);
  if (r.fromVersion !== undefined || r.toVersion !== undefined)
    lines.push(
      `Database: version ${r.fromVersion ?? '?'} → ${r.toVersion ?? '?'}${r.method ? ` (${r.method})` : ''}`,
    );
  if (r.app) lines.push(`Application: ${r.app.before ?? 'unknown'} → ${r.app.after ?? 'unknown'}`);
  if (r.breakGlass) lines.push(`Break-glass by ${r.breakGlass.by}: ${r.breakGlass.reason}`);
  if (r.timing) lines.push(`Time: ${r.timing}`);
  if (r.incidentPath) lines.push(`Incident document: ${r.incidentPath}`);
  if (r.postMortemDue) lines.push(`Post-mortem due: ${r.postMortemDue}`);
  return lines.join('\n');
}

/** `--status-only`: what an on-call engineer needs to see first. */
export function formatStatus(r: EmergencyRollbackResult, running: ActiveWorkflow[]): string {
  const s = r.status;
  if (!s) return `Status of ${r.environment}: no status in the result`;
  const lines = [
    `Status of ${r.environment}`,
    `  Migration version: ${s.migration.currentVersion} (${s.migration.appliedCount} applied${s.migration.pending ? `, ${s.migration.pending.length} pending` : ''})`,
    ...(s.migration.drift?.length ? [`  Drift: ${s.migration.drift.join('; ')}`] : []),
    `  Application version: ${s.appVersion ?? 'unknown (no app.versionUrl configured)'}`,
    '  Latest backups:',
    ...(s.backups.length
      ? s.backups.map(
          (b) =>
            `    ${b.id}  ${b.createdAt}  version ${b.currentVersion ?? '?'}  ${b.sizeBytes} bytes`,
        )
      : ['    none']),
    '  Recent deploys and rollbacks:',
    ...(s.deployments.length
      ? s.deployments.map(
          (d) =>
            `    ${d.startedAt ?? ''}  ${d.kind} ${d.workflowId}: ${d.status}, database ${d.fromVersion ?? '?'} → ${d.toVersion ?? '?'}, application ${d.appVersionBefore ?? '-'} → ${d.appVersionAfter ?? '-'}`,
        )
      : ['    none recorded']),
    '  Running pgshift workflows:',
    ...(running.length ? running.map((w) => `    ${describeActive(w)}`) : ['    none']),
  ];
  return lines.join('\n');
}
