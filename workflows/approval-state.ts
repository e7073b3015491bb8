/**
 * The approval state and how a refusal is recorded in it: the pure helpers the role rules
 * (approval-policy.ts) and the signature checks (approval-signatures.ts) share.
 */
import type { z } from 'zod';
import type { ApprovalPayload, ApprovalState, RefusedApproval } from './definitions';

export type ApprovalDecision =
  | { accepted: true; state: ApprovalState }
  | { accepted: false; reason: string; state: ApprovalState };

/** How many refused attempts the state keeps (the oldest go first), to keep histories small. */
export const MAX_RECORDED_REFUSALS = 100;

/** The state before any approval arrives. */
export function initialApprovalState(requiredRoles: string[], expiresAt: number): ApprovalState {
  const required = unique(requiredRoles);
  return {
    required,
    missing: [...required],
    granted: [],
    refused: [],
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** The required roles nobody has granted yet, in the order they are required. */
export function missingRoles(state: ApprovalState): string[] {
  const granted = new Set(state.granted.map((g) => g.role));
  return state.required.filter((role) => !granted.has(role));
}

/** True when every required role is granted and nobody rejected. */
export function isFullyApproved(state: ApprovalState): boolean {
  return !state.rejected && missingRoles(state).length === 0;
}

/** Records a refused attempt (the newest MAX_RECORDED_REFUSALS are kept) and refuses it. */
export function refuse(
  state: ApprovalState,
  context: { now: number },
  summary: string,
  reason: string,
  payload?: Partial<ApprovalPayload>,
  fingerprint?: string,
): ApprovalDecision {
  const entry: RefusedApproval = {
    summary,
    reason,
    at: iso(context.now),
    ...(payload?.role ? { role: payload.role } : {}),
    ...(payload?.approver ? { approver: payload.approver } : {}),
    ...(fingerprint ? { fingerprint } : {}),
  };
  const refused = [...state.refused, entry].slice(-MAX_RECORDED_REFUSALS);
  return { accepted: false, reason, state: { ...state, refused } };
}

export function malformedReason(error: z.ZodError): string {
  const problems = error.issues.map(
    (issue) => `${issue.path.length ? issue.path.join('.') : 'payload'}: ${issue.message}`,
  );
  return `malformed payload (${problems.join('; ')})`;
}

export function describeMalformed(payload: unknown): string {
  const text = JSON.stringify(payload) ?? String(payload);
  return `malformed payload ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`;
}

export function samePerson(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
