import type { Command } from 'commander';
import { connectClient } from '../../temporal/connection';
import {
  approvalsQuery,
  progressQuery,
  submitApprovalUpdate,
  submitRejectionUpdate,
  type ApprovalPayload,
  type ApprovalState,
  type ApprovalUpdateResult,
  type Progress,
} from '../../../workflows/definitions';
import { explainDeployError, openDeploy } from '../deploy-handles';
import { resolveInitiator } from '../initiator';
import { emit } from '../output';

interface ApproveOptions {
  role: string;
  as?: string;
  comment?: string;
  plan?: string;
  json?: boolean;
}

interface RejectOptions {
  reason: string;
  as?: string;
  json?: boolean;
}

/** `pgshift approve`, `pgshift reject` and `pgshift approvals`: the approvers' side of a deploy. */
export function register(program: Command): void {
  program
    .command('approve <workflowId>')
    .description(
      'approve a waiting production deploy for one role; answered at once: accepted, or refused with the reason (exit 1)',
    )
    .requiredOption(
      '--role <role>',
      'the role you approve as (e.g. engineering-lead, product-owner, devops, executive)',
    )
    .option('--as <name>', 'who approves (default: PGSHIFT_USER or the OS user)')
    .option('--comment <text>', 'a note kept with the approval')
    .option(
      '--plan <checksum>',
      'the plan checksum you reviewed (refused if the deploy applies another plan)',
    )
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await approve(workflowId, command.optsWithGlobals<ApproveOptions>());
    });
  program
    .command('reject <workflowId>')
    .description('reject a waiting production deploy: it ends with no change made')
    .requiredOption('--reason <text>', 'why (kept in the approvals record and the report)')
    .option('--as <name>', 'who rejects (default: PGSHIFT_USER or the OS user)')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await reject(workflowId, command.optsWithGlobals<RejectOptions>());
    });
  program
    .command('approvals <workflowId>')
    .description('who approved a deploy and when, what is still missing, and every refused attempt')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await showApprovals(
        workflowId,
        command.optsWithGlobals<{ json?: boolean }>(),
      );
    });
}

export async function approve(workflowId: string, opts: ApproveOptions): Promise<number> {
  const payload: ApprovalPayload = {
    role: opts.role,
    approver: resolveInitiator(opts.as),
    ...(opts.comment ? { comment: opts.comment } : {}),
    ...(opts.plan ? { planChecksum: opts.plan.trim().toLowerCase() } : {}),
  };
  return submit(
    workflowId,
    opts,
    'approval',
    async (handle) => handle.executeUpdate(submitApprovalUpdate, { args: [payload] }),
    `${payload.role} by ${payload.approver}`,
  );
}

export async function reject(workflowId: string, opts: RejectOptions): Promise<number> {
  const approver = resolveInitiator(opts.as);
  return submit(
    workflowId,
    opts,
    'rejection',
    (handle) =>
      handle.executeUpdate(submitRejectionUpdate, { args: [{ approver, reason: opts.reason }] }),
    `rejection by ${approver}`,
  );
}

async function submit(
  workflowId: string,
  opts: { json?: boolean },
  kind: 'approval' | 'rejection',
  send: (handle: Awaited<ReturnType<typeof openDeploy>>['handle']) => Promise<ApprovalUpdateResult>,
  what: string,
): Promise<number> {
  const client = await connectClient();
  try {
    const { handle, planChecksum } = await openDeploy(client, workflowId);
    let result: ApprovalUpdateResult;
    try {
      result = await send(handle);
    } catch (error) {
      throw explainDeployError(error, workflowId);
    }
    emit(opts, { workflowId, planChecksum: planChecksum ?? null, ...result }, (r) =>
      [
        r.accepted
          ? `✓ ${kind} accepted: ${what} for ${workflowId}`
          : `✗ ${kind} REFUSED: ${r.reason}`,
        ...(planChecksum ? [`Plan checksum: ${planChecksum}`] : []),
        kind === 'rejection' && r.accepted
          ? 'The deploy ends with no change made.'
          : r.missingRoles.length
            ? `Still missing: ${r.missingRoles.join(', ')}`
            : r.accepted
              ? 'Every required approval is in: the deploy proceeds.'
              : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    return result.accepted ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}

export async function showApprovals(workflowId: string, opts: { json?: boolean }): Promise<number> {
  const client = await connectClient();
  try {
    const { handle, planChecksum, status } = await openDeploy(client, workflowId);
    let approvals: ApprovalState;
    let progress: Progress | undefined;
    try {
      approvals = await handle.query(approvalsQuery);
      progress = await handle.query(progressQuery).catch(() => undefined);
    } catch (error) {
      throw explainDeployError(error, workflowId);
    }
    emit(
      opts,
      {
        workflowId,
        status,
        planChecksum: planChecksum ?? null,
        phase: progress?.phase ?? null,
        ...approvals,
      },
      () => formatApprovals(workflowId, status, planChecksum, progress, approvals),
    );
    return 0;
  } finally {
    await client.connection.close();
  }
}

export function formatApprovals(
  workflowId: string,
  status: string,
  planChecksum: string | undefined,
  progress: Progress | undefined,
  a: ApprovalState,
): string {
  return [
    `Deploy ${workflowId} (${status.toLowerCase()}${progress ? `, ${progress.finalState ?? progress.phase}` : ''})`,
    ...(planChecksum ? [`Plan checksum: ${planChecksum}`] : []),
    `Required: ${a.required.join(', ') || 'not known yet'}${a.expiresAt ? `; window closes ${a.expiresAt}` : ''}`,
    `Missing: ${a.missing.join(', ') || 'none'}`,
    'Approved:',
    ...(a.granted.length
      ? a.granted.map(
          (g) => `  ✓ ${g.role} by ${g.approver} at ${g.at}${g.comment ? ` — ${g.comment}` : ''}`,
        )
      : ['  (none)']),
    ...(a.rejected
      ? [`Rejected by ${a.rejected.approver} at ${a.rejected.at}: ${a.rejected.reason}`]
      : []),
    'Refused attempts:',
    ...(a.refused.length
      ? a.refused.map((r) => `  ✗ ${r.summary} at ${r.at}: ${r.reason}`)
      : ['  (none)']),
  ].join('\n');
}
