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
import { describeStatementTarget, newStatement, signDecision, type SignedFields } from '../signing';
import type { DecisionAction } from '../../approvals/statement';
import type { SignedDecisionFlags } from '../signing-options';

export interface ApproveOptions extends SignedDecisionFlags {
  role: string;
  as?: string;
  comment?: string;
  plan?: string;
  json?: boolean;
}

export interface RejectOptions extends SignedDecisionFlags {
  reason: string;
  as?: string;
  json?: boolean;
}

export async function approve(workflowId: string, opts: ApproveOptions): Promise<number> {
  const comment = opts.comment?.trim();
  const payload: ApprovalPayload = {
    role: opts.role,
    approver: resolveInitiator(opts.as),
    ...(comment ? { comment } : {}),
    ...(opts.plan ? { planChecksum: opts.plan.trim().toLowerCase() } : {}),
  };
  return submit(
    workflowId,
    opts,
    'approval',
    { action: `approve:${payload.role}`, person: payload.approver, reason: comment ?? '' },
    async (handle, signed) =>
      handle.executeUpdate(submitApprovalUpdate, { args: [{ ...payload, ...signed }] }),
    `${payload.role} by ${payload.approver}`,
  );
}

export async function reject(workflowId: string, opts: RejectOptions): Promise<number> {
  const approver = resolveInitiator(opts.as);
  const reason = opts.reason.trim();
  return submit(
    workflowId,
    opts,
    'rejection',
    { action: 'reject', person: approver, reason },
    (handle, signed) =>
      handle.executeUpdate(submitRejectionUpdate, { args: [{ approver, reason, ...signed }] }),
    `rejection by ${approver}`,
  );
}

/**
 * `--print-statement`: the exact statement for this workflow's current run, on stdout (and
 * nothing sent). Otherwise, with `--key`, the signed statement to send; without, nothing.
 */
export async function prepareSignedDecision(
  client: Awaited<ReturnType<typeof connectClient>>,
  workflowId: string,
  decision: { action: DecisionAction; person: string; reason: string },
  opts: SignedDecisionFlags & { json?: boolean },
): Promise<{ printed: true } | { printed: false; signed: Partial<SignedFields> }> {
  if (!opts.printStatement && !opts.key) return { printed: false, signed: {} };
  const target = await describeStatementTarget(client, workflowId);
  if (opts.printStatement) {
    const statement = newStatement(target, decision.action, decision.person, decision.reason, {
      validFor: opts.validFor,
    });
    if (opts.json) emit(opts, { workflowId, statement }, () => '');
    else {
      process.stdout.write(statement);
      process.stderr.write(
        `Sign it with: ssh-keygen -Y sign -f ~/.ssh/id_ed25519 -n pgshift statement.txt\n` +
          `then send the statement and the .sig contents as "statement" and "signature" in the payload.\n`,
      );
    }
    return { printed: true };
  }
  return {
    printed: false,
    signed: await signDecision(target, decision.action, decision.person, decision.reason, {
      ...opts,
      key: opts.key!,
    }),
  };
}

async function submit(
  workflowId: string,
  opts: SignedDecisionFlags & { json?: boolean },
  kind: 'approval' | 'rejection',
  decision: { action: DecisionAction; person: string; reason: string },
  send: (
    handle: Awaited<ReturnType<typeof openDeploy>>['handle'],
    signed: Partial<SignedFields>,
  ) => Promise<ApprovalUpdateResult>,
  what: string,
): Promise<number> {
  const client = await connectClient();
  try {
    const prepared = await prepareSignedDecision(client, workflowId, decision, opts);
    if (prepared.printed) return 0;
    const { handle, planChecksum } = await openDeploy(client, workflowId);
    let result: ApprovalUpdateResult;
    try {
      result = await send(handle, prepared.signed);
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
          (g) =>
            `  ✓ ${g.role} by ${g.approver} at ${g.at}${g.fingerprint ? ` (signed, key ${g.fingerprint})` : ''}${g.comment ? ` — ${g.comment}` : ''}`,
        )
      : ['  (none)']),
    ...(a.rejected
      ? [
          `Rejected by ${a.rejected.approver} at ${a.rejected.at}${a.rejected.fingerprint ? ` (signed, key ${a.rejected.fingerprint})` : ''}: ${a.rejected.reason}`,
        ]
      : []),
    'Refused attempts:',
    ...(a.refused.length
      ? a.refused.map(
          (r) =>
            `  ✗ ${r.summary} at ${r.at}${r.fingerprint ? ` (key ${r.fingerprint})` : ''}: ${r.reason}`,
        )
      : ['  (none)']),
  ].join('\n');
}
