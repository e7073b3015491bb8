/**
 * The approval policy: pure, deterministic functions (no I/O, no clock of their own) that the
 * deploy and rollback workflows call for every approval, whether it arrived by signal or by
 * update, so both paths apply exactly the same rules. Refused attempts are recorded in the
 * state (visible by the `approvals` query) and never counted.
 */
import type { DecisionAction } from '../src/approvals/statement';
import {
  describeMalformed,
  iso,
  malformedReason,
  missingRoles,
  refuse,
  samePerson,
  unique,
  type ApprovalDecision,
} from './approval-state';
import { checkSignedDecision, type SignatureContext } from './approval-signatures';
import {
  approvalPayloadSchema,
  EMERGENCY_APPROVER_ROLE,
  rejectPayloadSchema,
  rollbackApprovalPayloadSchema,
  type ApprovalState,
} from './definitions';

export {
  initialApprovalState,
  isFullyApproved,
  MAX_RECORDED_REFUSALS,
  missingRoles,
  type ApprovalDecision,
} from './approval-state';
export {
  checkSignedDecision,
  isKeyAllowed,
  revokeStaleGrants,
  usedNonces,
  type SignatureCheck,
  type SignatureContext,
} from './approval-signatures';

export interface ApprovalContext {
  /** Current time in ms since the epoch (in a workflow: `Date.now()`, which is deterministic there). */
  now: number;
  /** Who started the deploy. */
  initiator: string;
  /** The checksum of the plan this workflow applies. */
  planChecksum: string;
  /** role → the people who hold it; `"*"` opens a role to anyone. */
  roster: Record<string, string[]>;
  /** The roles this deploy needs (see requiredRolesFor). */
  requiredRoles: string[];
  /** When the approval window closes, ms since the epoch. */
  expiresAt: number;
  /** The initiator may approve their own deploy (config approvals.allowInitiator). */
  allowInitiator?: boolean;
  /** Signed decisions; absent: names are taken as given (the unsigned mode of non-production tiers). */
  signatures?: SignatureContext;
}

/** The guide's roles, plus the high-risk roles (executive) when the change is high risk. */
export function requiredRolesFor(
  policy: { requiredRoles: string[]; highRiskRoles: string[] },
  risk: { highRisk: boolean },
): string[] {
  return unique([...policy.requiredRoles, ...(risk.highRisk ? policy.highRiskRoles : [])]);
}

/**
 * Decides one approval. Refuses (and records) a malformed payload, an approval after a
 * rejection or after expiry, one naming another plan, an unknown role, an approver not on
 * the role's roster, the initiator approving their own deploy, a second approval of a role,
 * and one person approving two roles.
 */
export function evaluateApproval(
  state: ApprovalState,
  payload: unknown,
  context: ApprovalContext,
): ApprovalDecision {
  return decideApproval(state, payload, context, (role) => `approve:${role}`);
}

function decideApproval(
  state: ApprovalState,
  payload: unknown,
  context: ApprovalContext,
  actionFor: (role: string) => DecisionAction,
): ApprovalDecision {
  const parsed = approvalPayloadSchema.safeParse(payload);
  if (!parsed.success)
    return refuse(state, context, describeMalformed(payload), malformedReason(parsed.error));
  const approval = parsed.data;
  const summary = `${approval.role} by ${approval.approver}`;
  let signedBy: string | undefined;
  const refuseWith = (reason: string) =>
    refuse(state, context, summary, reason, approval, signedBy);

  if (state.rejected)
    return refuseWith(
      `the deploy was already rejected by ${state.rejected.approver} (${state.rejected.reason})`,
    );
  if (context.now >= context.expiresAt)
    return refuseWith(`the approval window closed at ${new Date(context.expiresAt).toISOString()}`);
  const signed = checkSignedDecision(
    approval,
    actionFor(approval.role),
    approval.approver,
    state,
    context,
  );
  if (!signed.ok)
    return refuse(state, context, summary, signed.reason, approval, signed.fingerprint);
  const signer = signed.signer;
  signedBy = signer?.fingerprint;
  if (signer && approval.comment !== undefined && approval.comment.trim() !== signer.reason)
    return refuseWith(
      `the comment differs from the reason in the signed statement ("${signer.reason}"): send the statement's reason, or sign a new statement`,
    );
  if (approval.planChecksum && !context.planChecksum.startsWith(approval.planChecksum))
    return refuseWith(
      `the approval names plan ${approval.planChecksum.slice(0, 12)} but this deploy applies plan ${context.planChecksum.slice(0, 12)}`,
    );
  const required = unique(context.requiredRoles);
  if (!required.includes(approval.role))
    return refuseWith(
      `unknown role "${approval.role}": this deploy needs ${required.join(', ') || 'no approvals'}`,
    );
  const holders = context.roster[approval.role] ?? [];
  if (holders.length === 0)
    return refuseWith(
      `nobody holds role "${approval.role}": add names to approvals.roster.${approval.role} in pgshift.config.json`,
    );
  if (!holders.includes('*') && !holders.some((holder) => samePerson(holder, approval.approver)))
    return refuseWith(
      `${approval.approver} is not on the roster of "${approval.role}" (${holders.join(', ')})`,
    );
  if (!context.allowInitiator && samePerson(approval.approver, context.initiator))
    return refuseWith(`${approval.approver} started this deploy and may not approve it`);
  const initiatorKey = context.signatures?.initiatorFingerprint;
  if (!context.allowInitiator && signer && initiatorKey === signer.fingerprint)
    return refuseWith(
      `signed with key ${signer.fingerprint}, the key that started this deploy: the initiator may not approve it`,
    );
  const sameRole = state.granted.find((g) => g.role === approval.role);
  if (sameRole)
    return refuseWith(`role "${approval.role}" was already approved by ${sameRole.approver}`);
  const samePersonOtherRole = state.granted.find((g) => samePerson(g.approver, approval.approver));
  if (samePersonOtherRole)
    return refuseWith(
      `${approval.approver} already approved as "${samePersonOtherRole.role}": each role needs a different person`,
    );
  const sameKeyOtherRole =
    signer && state.granted.find((g) => g.fingerprint === signer.fingerprint);
  if (sameKeyOtherRole)
    return refuseWith(
      `key ${signer.fingerprint} already approved as "${sameKeyOtherRole.role}" (${sameKeyOtherRole.approver}): each role needs a different person's key`,
    );

  const comment = signer ? signer.reason : approval.comment;
  const granted = [
    ...state.granted,
    {
      role: approval.role,
      approver: approval.approver,
      at: iso(context.now),
      ...(comment ? { comment } : {}),
      ...(signer
        ? {
            fingerprint: signer.fingerprint,
            nonce: signer.nonce,
            statement: signer.statement,
            signature: signer.signature,
          }
        : {}),
    },
  ];
  const next: ApprovalState = { ...state, granted };
  return { accepted: true, state: { ...next, missing: missingRoles(next) } };
}

/**
 * Decides a rejection. Anyone on the roster of a required role (or the initiator withdrawing
 * their own deploy) may reject while the window is open; a rejection ends the approval gate.
 */
export function evaluateRejection(
  state: ApprovalState,
  payload: unknown,
  context: ApprovalContext,
): ApprovalDecision {
  const parsed = rejectPayloadSchema.safeParse(payload);
  if (!parsed.success)
    return refuse(state, context, describeMalformed(payload), malformedReason(parsed.error));
  const { approver, reason } = parsed.data;
  const summary = `rejection by ${approver}`;
  const refuseWith = (why: string) => refuse(state, context, summary, why, { approver });
  if (state.rejected)
    return refuseWith(`the deploy was already rejected by ${state.rejected.approver}`);
  if (context.now >= context.expiresAt)
    return refuseWith(`the approval window closed at ${new Date(context.expiresAt).toISOString()}`);
  const signed = checkSignedDecision(parsed.data, 'reject', approver, state, context);
  if (!signed.ok)
    return refuse(state, context, summary, signed.reason, { approver }, signed.fingerprint);
  if (signed.signer && signed.signer.reason !== reason.trim())
    return refuseWith(
      `the reason differs from the one in the signed statement ("${signed.signer.reason}")`,
    );
  const mayReject =
    samePerson(approver, context.initiator) ||
    unique(context.requiredRoles).some((role) =>
      (context.roster[role] ?? []).some((holder) => holder === '*' || samePerson(holder, approver)),
    );
  if (!mayReject)
    return refuseWith(`${approver} holds none of the roles ${context.requiredRoles.join(', ')}`);
  return {
    accepted: true,
    state: {
      ...state,
      rejected: {
        approver,
        reason,
        at: iso(context.now),
        ...(signed.signer
          ? { fingerprint: signed.signer.fingerprint, nonce: signed.signer.nonce }
          : {}),
      },
    },
  };
}

/**
 * Decides the one approval a data-losing emergency rollback needs: the same rules, with the
 * single role `emergency-approver` held by `approvers` (config emergency.approvers, or the
 * whole approvals roster when that is absent).
 */
export function evaluateRollbackApproval(
  state: ApprovalState,
  payload: unknown,
  context: Omit<ApprovalContext, 'roster' | 'requiredRoles' | 'planChecksum'> & {
    approvers: string[];
    planChecksum?: string;
  },
): ApprovalDecision {
  const parsed = rollbackApprovalPayloadSchema.safeParse(payload);
  if (!parsed.success)
    return refuse(state, context, describeMalformed(payload), malformedReason(parsed.error));
  return decideApproval(
    state,
    { ...parsed.data, role: EMERGENCY_APPROVER_ROLE },
    {
      ...context,
      planChecksum: context.planChecksum ?? '',
      roster: { [EMERGENCY_APPROVER_ROLE]: context.approvers },
      requiredRoles: [EMERGENCY_APPROVER_ROLE],
    },
    () => 'rollback-approve',
  );
}

/** Everyone on an approvals roster: the default emergency approvers. */
export function everyoneOnRoster(roster: Record<string, string[]>): string[] {
  return unique(Object.values(roster).flat());
}
