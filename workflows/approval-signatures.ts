/**
 * Signed decisions: whether a statement and its signature bind this decision to this run and
 * were made with an allowed key, which nonces are spent, and which granted approvals stop
 * counting when the allowed signers change. Pure (the keys come from the worker's config).
 */
import { isKeyAllowed, type AllowedSigner } from '../src/approvals/allowed-signers';
import type { DecisionAction } from '../src/approvals/statement';
import { verifySignedDecision, type SignedDecision } from '../src/approvals/verify-decision';
import { missingRoles, refuse } from './approval-state';
import type { ApprovalState } from './definitions';

/**
 * What a signed statement must be bound to, and the keys that may sign (the environment's
 * allowed-signers file, read by an activity from the worker's config — never workflow input).
 */
export interface SignatureContext {
  /** Refuse unsigned decisions (config approvals.requireSignatures). */
  required: boolean;
  allowedSigners: AllowedSigner[];
  /** The Temporal namespace, workflow id and run id the statements must name. */
  namespace: string;
  environment: string;
  workflowId: string;
  runId: string;
  /** The key that signed the start of this deploy or rollback, when the start was signed. */
  initiatorFingerprint?: string;
  /** Nonces of the statements that came with the start (the start, a waiver, a break-glass). */
  startNonces?: string[];
}

/** The outcome of checking the signature of one decision (see checkSignedDecision). */
export type SignatureCheck =
  | { ok: true; signer?: { fingerprint: string; nonce: string; reason: string } & SignedDecision }
  | { ok: false; reason: string; fingerprint?: string };

export { isKeyAllowed };

/**
 * Checks the signature of one decision (an approval, a rejection, a cancel, a break-glass, a
 * rehearsal waiver, the start of a deploy or rollback) against the context's allowed signers.
 * Without a signature context every decision passes unsigned (`signer` absent); with one, a
 * signed decision must verify, and an unsigned one passes only when signatures are not
 * required. Nonces already used in this state count as replays. `atStart`: the statement came
 * with the workflow's input (a start, a rehearsal waiver, a break-glass), signed before the run
 * existed, so it names no run (`run-id: none`).
 */
export function checkSignedDecision(
  payload: SignedDecision,
  action: DecisionAction,
  person: string,
  state: Pick<ApprovalState, 'granted' | 'rejected'> | { usedNonces: string[] },
  context: { now: number; planChecksum?: string; signatures?: SignatureContext },
  options: { atStart?: boolean } = {},
): SignatureCheck {
  const signatures = context.signatures;
  if (!signatures) return { ok: true };
  if (!signatures.required && !payload.statement && !payload.signature) return { ok: true };
  const check = verifySignedDecision(
    payload,
    {
      namespace: signatures.namespace,
      environment: signatures.environment,
      workflowId: signatures.workflowId,
      runId: options.atStart ? null : signatures.runId,
      planChecksum: context.planChecksum || null,
      action,
      person,
    },
    signatures.allowedSigners,
    context.now,
    [
      ...('usedNonces' in state ? state.usedNonces : usedNonces(state)),
      ...(signatures.startNonces ?? []),
    ],
  );
  if (!check.ok)
    return {
      ok: false,
      reason: check.reason,
      ...(check.fingerprint ? { fingerprint: check.fingerprint } : {}),
    };
  const { decision } = check;
  return {
    ok: true,
    signer: {
      fingerprint: decision.fingerprint,
      nonce: decision.nonce,
      reason: decision.statement.reason,
      statement: payload.statement,
      signature: payload.signature,
    },
  };
}

/** The nonces of the signed decisions this state counted (a statement counts once). */
export function usedNonces(state: Pick<ApprovalState, 'granted' | 'rejected'>): string[] {
  return [
    ...state.granted.flatMap((g) => (g.nonce ? [g.nonce] : [])),
    ...(state.rejected?.nonce ? [state.rejected.nonce] : []),
  ];
}

/**
 * Re-checks the signed approvals already granted against the current allowed signers (after a
 * config reload, before the gate opens): an approval whose key was removed, or is no longer
 * valid, stops counting and is recorded as refused. Unsigned grants are kept unless signatures
 * became required, in which case they stop counting too.
 */
export function revokeStaleGrants(
  state: ApprovalState,
  context: { now: number; signatures?: SignatureContext },
): { state: ApprovalState; revoked: string[] } {
  const signatures = context.signatures;
  if (!signatures) return { state, revoked: [] };
  let next = state;
  const revoked: string[] = [];
  for (const grant of state.granted) {
    const reason = grant.fingerprint
      ? isKeyAllowed(grant.fingerprint, grant.approver, signatures.allowedSigners, context.now)
        ? undefined
        : `revoked: key ${grant.fingerprint} of ${grant.approver} is no longer in the allowed signers (or no longer valid)`
      : signatures.required
        ? 'revoked: unsigned, and this environment now requires signed approvals'
        : undefined;
    if (!reason) continue;
    revoked.push(grant.role);
    const granted = next.granted.filter((g) => g !== grant);
    const refusedState = refuse(
      { ...next, granted },
      context,
      `${grant.role} by ${grant.approver}`,
      reason,
      grant,
      grant.fingerprint,
    ).state;
    next = { ...refusedState, missing: missingRoles(refusedState) };
  }
  return { state: next, revoked };
}
