/**
 * The check an activity makes before it touches a production-tier database: the approvals the
 * workflow hands it must each be a valid signature, by a key the worker's config still allows,
 * for this run, plan and role, one distinct key per role, none the initiator's. History alone,
 * edited or forged, cannot pass it: only the approvers' keys can.
 */
import { isKeyAllowed, type AllowedSigner } from './allowed-signers';
import { parseStatement, StatementFormatError } from './statement';
import { verifySignedDecision, type ExpectedDecision } from './verify-decision';

/** One approval as the workflow recorded it (GrantedApproval's fields that matter here). */
export interface ApprovalToVerify {
  role: string;
  approver: string;
  statement?: string;
  signature?: string;
}

export interface ApprovalSetExpectation extends Omit<ExpectedDecision, 'action' | 'person'> {
  requiredRoles: string[];
  /** role → who holds it (config approvals.roster; `"*"` anyone). Absent: not checked. */
  roster?: Record<string, string[]>;
  /** The key that signed the start, when it was signed: it may approve nothing. */
  initiatorFingerprint?: string;
  /** `approve:<role>` (deploys) or a fixed action for every approval (`rollback-approve`). */
  actionFor?: (role: string) => ExpectedDecision['action'];
}

export type ApprovalSetCheck =
  | { ok: true; signers: { role: string; approver: string; fingerprint: string }[] }
  | { ok: false; problems: string[] };

/**
 * Verifies a set of approvals at `now`. A statement is checked as of when it was issued (it
 * was accepted then; expiry guards submission, not execution), its key as of `now` (a key
 * removed from the allowed signers since revokes the approval).
 */
export function verifyApprovalSet(
  approvals: readonly ApprovalToVerify[],
  expected: ApprovalSetExpectation,
  allowedSigners: readonly AllowedSigner[],
  now: number,
): ApprovalSetCheck {
  const problems: string[] = [];
  const verified: { role: string; approver: string; fingerprint: string }[] = [];
  const nonces = new Set<string>();
  const actionFor = expected.actionFor ?? ((role: string) => `approve:${role}` as const);
  for (const role of expected.requiredRoles) {
    const approval = approvals.find((a) => a.role === role);
    if (!approval) {
      problems.push(`role ${role}: no approval`);
      continue;
    }
    const what = `role ${role} (${approval.approver})`;
    let issuedAt: number;
    try {
      issuedAt = parseStatement(approval.statement ?? '').issuedAt;
    } catch (error) {
      if (!(error instanceof StatementFormatError)) throw error;
      problems.push(
        `${what}: ${approval.statement ? `malformed statement: ${error.message}` : 'unsigned'}`,
      );
      continue;
    }
    const check = verifySignedDecision(
      approval,
      { ...expected, action: actionFor(role), person: approval.approver },
      allowedSigners,
      issuedAt,
      [...nonces],
    );
    if (!check.ok) {
      problems.push(`${what}: ${check.reason}`);
      continue;
    }
    const { fingerprint, nonce } = check.decision;
    nonces.add(nonce);
    const stillAllowed = isKeyAllowed(fingerprint, approval.approver, allowedSigners, now);
    if (!stillAllowed)
      problems.push(`${what}: key ${fingerprint} is no longer allowed (revoked or expired)`);
    else if (expected.initiatorFingerprint === fingerprint)
      problems.push(`${what}: signed with the initiator's key ${fingerprint}`);
    else if (verified.some((v) => v.fingerprint === fingerprint))
      problems.push(`${what}: key ${fingerprint} already approved another role`);
    else if (
      expected.roster &&
      !(expected.roster[role] ?? []).some(
        (holder) =>
          holder === '*' || holder.trim().toLowerCase() === approval.approver.trim().toLowerCase(),
      )
    )
      problems.push(`${what}: not on the roster of ${role}`);
    else verified.push({ role, approver: approval.approver, fingerprint });
  }
  return problems.length ? { ok: false, problems } : { ok: true, signers: verified };
}
