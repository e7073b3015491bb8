/**
 * The messages an approval gate listens to: the signal and the update of each way to decide,
 * the pure policy function that judges them, the payload check of the update's validator, and
 * why a closed gate refuses later attempts. One set for the production deploy, one for the
 * data-losing emergency rollback.
 */
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import {
  evaluateApproval,
  evaluateRejection,
  evaluateRollbackApproval,
  type ApprovalContext,
  type ApprovalDecision,
} from './approval-policy';
import {
  approvalPayloadSchema,
  approveRollbackSignal,
  approveSignal,
  EMERGENCY_APPROVER_ROLE,
  rejectPayloadSchema,
  rejectSignal,
  rollbackApprovalPayloadSchema,
  submitApprovalUpdate,
  submitRejectionUpdate,
  submitRollbackApprovalUpdate,
  type ApprovalState,
  type ApprovalUpdateResult,
} from './definitions';

export type GateOutcome = 'approved' | 'rejected' | 'expired' | 'cancelled';

export type Kind = 'approval' | 'rejection';

/** One way to decide: the signal and the update that carry it, judged by one pure policy function. */
export interface GateChannel {
  signal: SignalDefinition<[any]>;
  update: UpdateDefinition<ApprovalUpdateResult, [any]>;
  evaluate: (state: ApprovalState, payload: unknown, context: ApprovalContext) => ApprovalDecision;
  /**
   * The payload's shape: the update's validator refuses a malformed one before it enters
   * history (a signal cannot be refused: its malformed payloads are recorded as refusals).
   */
  schema?: z.ZodType;
}

/** The messages a gate listens to: approvals, and rejections when the workflow has them. */
export type GateMessages = { approval: GateChannel; rejection?: GateChannel };

/** A production deploy: `approve`/`submitApproval` and `reject`/`submitRejection`. */
export const DEPLOY_APPROVALS: GateMessages = {
  approval: {
    signal: approveSignal,
    update: submitApprovalUpdate,
    evaluate: evaluateApproval,
    schema: approvalPayloadSchema,
  },
  rejection: {
    signal: rejectSignal,
    update: submitRejectionUpdate,
    evaluate: evaluateRejection,
    schema: rejectPayloadSchema,
  },
};

/**
 * A data-losing emergency rollback: one approval by an emergency approver
 * (`approveRollback`/`submitRollbackApproval`); its roster is `{ emergency-approver: approvers }`.
 */
export const ROLLBACK_APPROVAL: GateMessages = {
  approval: {
    signal: approveRollbackSignal,
    update: submitRollbackApprovalUpdate,
    schema: rollbackApprovalPayloadSchema,
    evaluate: (state, payload, context) =>
      evaluateRollbackApproval(state, payload, {
        now: context.now,
        initiator: context.initiator,
        expiresAt: context.expiresAt,
        approvers: context.roster[EMERGENCY_APPROVER_ROLE] ?? [],
        ...(context.signatures
          ? { signatures: context.signatures, planChecksum: context.planChecksum }
          : {}),
      }),
  },
};

/** Why a gate closed, for the refusals of later attempts. */
export type CloseReasons = (outcome: GateOutcome, state: ApprovalState) => string;

export const DEPLOY_CLOSE_REASONS: CloseReasons = (outcome, state) =>
  outcome === 'approved'
    ? 'the approval gate closed: every required role had approved and the deploy went ahead (use the cancelDeploy signal to stop it)'
    : outcome === 'rejected'
      ? `the deploy was already rejected by ${state.rejected?.approver}`
      : outcome === 'cancelled'
        ? 'the deploy was cancelled'
        : `the approval window closed at ${state.expiresAt}`;

/** The role and approver of a payload when they are strings (for logs; never trusted otherwise). */
export function describePayload(payload: unknown): { role?: string; approver?: string } {
  if (!payload || typeof payload !== 'object') return {};
  const { role, approver } = payload as Record<string, unknown>;
  return {
    ...(typeof role === 'string' ? { role: role.slice(0, 100) } : {}),
    ...(typeof approver === 'string' ? { approver: approver.slice(0, 200) } : {}),
  };
}

/** An update validator: a payload that does not parse is refused before it enters history. */
export function validatePayload(kind: Kind, schema: z.ZodType | undefined, payload: unknown): void {
  if (!schema) return;
  const parsed = schema.safeParse(payload);
  if (parsed.success) return;
  const problems = parsed.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`)
    .join('; ');
  throw ApplicationFailure.create({
    type: 'MalformedPayload',
    nonRetryable: true,
    message: `malformed ${kind} refused: ${problems}`,
  });
}
