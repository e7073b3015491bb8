/**
 * Approvals, rejections and cancellations: their payloads, what the gate records, and the
 * messages shared by the deploy and the emergency rollback (the `approvals` query, key reloads).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { z } from 'zod';

/** A person's name as the inputs and payloads carry it (never a credential). */
export const person = z.string().trim().min(1, 'expected a name').max(200);

/** The reason a person gives for a decision (`a rejection needs a reason` when empty). */
export const reasonFor = (decision: string) =>
  z.string().trim().min(1, `${decision} needs a reason`).max(2000);

/** A signed decision: the canonical statement and its `ssh-keygen -Y sign -n pgshift` signature. */
export const signedFields = {
  statement: z.string().max(5000).optional(),
  signature: z.string().max(5000).optional(),
};

/** A decision with its reason, signed when signatures are required (a rejection, a cancel). */
const signedReason = (decision: string) => ({ reason: reasonFor(decision), ...signedFields });

/** `approve` signal and `submitApproval` update: one role granted by one person for one plan. */
export const approvalPayloadSchema = z.object({
  role: z.string().trim().min(1, 'expected a role').max(100),
  approver: person,
  comment: z.string().max(2000).optional(),
  /** The plan this approval is for (full checksum or a prefix of at least 8 hex digits). */
  planChecksum: z
    .string()
    .regex(/^[0-9a-f]{8,64}$/, 'expected the plan checksum (at least 8 hex digits)')
    .optional(),
  ...signedFields,
});
export type ApprovalPayload = z.infer<typeof approvalPayloadSchema>;

/** `reject` signal and `submitRejection` update: ends a waiting deploy with no change made. */
export const rejectPayloadSchema = z.object({ approver: person, ...signedReason('a rejection') });
export type RejectPayload = z.infer<typeof rejectPayloadSchema>;

/** `approveRollback` signal: the one approval a data-losing emergency rollback needs. */
export const rollbackApprovalPayloadSchema = approvalPayloadSchema.omit({
  role: true,
  planChecksum: true,
});
export type RollbackApprovalPayload = z.infer<typeof rollbackApprovalPayloadSchema>;

/** The role an emergency-rollback approval is recorded under (roster: emergency.approvers). */
export const EMERGENCY_APPROVER_ROLE = 'emergency-approver';

/** `cancelDeploy` signal: stop a waiting deploy (nothing applied yet) or compensate a running one. */
export const cancelPayloadSchema = z.object({ by: person, ...signedReason('a cancellation') });
export type CancelPayload = z.infer<typeof cancelPayloadSchema>;

export const approvalUpdateResultSchema = z.object({
  accepted: z.boolean(),
  reason: z.string().optional(),
  missingRoles: z.array(z.string()),
});
export type ApprovalUpdateResult = z.infer<typeof approvalUpdateResultSchema>;

/** Signed decisions: the key that signed (`SHA256:…`) and the statement's nonce. */
const signer = { fingerprint: z.string().optional(), nonce: z.string().optional() };

export const grantedApprovalSchema = z.object({
  role: z.string(),
  approver: z.string(),
  at: z.string(),
  comment: z.string().optional(),
  /** Signed approvals: the key that signed (`SHA256:…`), the statement's nonce, and both texts. */
  ...signer,
  ...signedFields,
});
export type GrantedApproval = z.infer<typeof grantedApprovalSchema>;

export const refusedApprovalSchema = z.object({
  /** What was sent, in a few words (`devops by mallory`), or `malformed payload`. */
  summary: z.string(),
  reason: z.string(),
  at: z.string(),
  role: z.string().optional(),
  approver: z.string().optional(),
  fingerprint: z.string().optional(),
});
export type RefusedApproval = z.infer<typeof refusedApprovalSchema>;

/** Who approved what and when, what is missing, and every refused attempt (the `approvals` query). */
export const approvalStateSchema = z.object({
  required: z.array(z.string()),
  missing: z.array(z.string()),
  granted: z.array(grantedApprovalSchema),
  refused: z.array(refusedApprovalSchema),
  rejected: z
    .object({ approver: z.string(), reason: z.string(), at: z.string(), ...signer })
    .optional(),
  expiresAt: z.string(),
});
export type ApprovalState = z.infer<typeof approvalStateSchema>;

export const approvalsQuery = defineQuery<ApprovalState>('approvals');

/**
 * `reloadApprovalKeys` signal: re-read the environment's allowed signers (and requireSignatures)
 * from the worker's config now; approvals signed by a key no longer allowed stop counting. The
 * keys are also re-read before the last approval opens the gate.
 */
export const reloadApprovalKeysSignal = defineSignal<[]>('reloadApprovalKeys');
