/**
 * What a workflow hands an activity that changes a production-tier database (apply, revert,
 * restore, swap), and the check the activity makes of it against the worker's allowed
 * signers: the initiator's signed start plus the signed approvals (or the signed break-glass)
 * that let the change go ahead. Only the people's keys can produce a set that passes, so an
 * edited or forged history authorises nothing. Pure: the caller passes keys, time and the
 * expectation (namespace, workflow id and run id from Temporal, plan from the activity input).
 */
import { isKeyAllowed, type AllowedSigner } from './allowed-signers';
import {
  parseStatement,
  StatementFormatError,
  type DecisionAction,
  type DecisionStatement,
} from './statement';
import {
  verifyApprovalSet,
  type ApprovalSetExpectation,
  type ApprovalToVerify,
} from './verify-approval-set';
import { verifySignedDecision, type SignedDecision } from './verify-decision';

/** A decision signed by one person (the start of a run, a break-glass). */
export interface PersonDecision extends SignedDecision {
  person: string;
}

/** The signed decisions behind one change; plain JSON (it travels as an activity argument). */
export interface SignedAuthorization {
  /** 'deploy': one `approve:<role>` per role; 'rollback': `rollback-approve` or a break-glass. */
  kind: 'deploy' | 'rollback';
  /** The initiator's `initiate-deploy` / `initiate-rollback` statement. */
  start?: PersonDecision;
  approvals: ApprovalToVerify[];
  /** A rollback's signed break-glass, standing in for its approval. */
  breakGlass?: PersonDecision;
  /**
   * Set by a fleet member's child instead of signed decisions of its own: the activity checks
   * the child's parent, as the server recorded it, and the fleet's signed approvals.
   */
  fleet?: { fleet: string; planChecksum: string };
}

export interface AuthorizationExpectation {
  namespace: string;
  environment: string;
  workflowId: string;
  runId: string;
  /**
   * The plan the activity applies or reverts; undefined when the activity has none (a restore):
   * then the plan the signed start names (the approvals are bound to this run either way).
   */
  planChecksum?: string | null;
  /** Deploys: the roles that must be approved (config approvals.requiredRoles at least). */
  requiredRoles: string[];
  roster?: Record<string, string[]>;
  /** Rollbacks: the change needs an approval or a break-glass, not only a signed start. */
  needsApproval?: boolean;
}

export type AuthorizationCheck = { ok: true } | { ok: false; problems: string[] };

/**
 * Verifies `authorization` at `now`. The start and the break-glass are checked as of when they
 * were issued (they were accepted then), against the keys allowed now (a removed key revokes).
 */
export function verifyAuthorization(
  authorization: SignedAuthorization | undefined,
  expected: AuthorizationExpectation,
  allowedSigners: readonly AllowedSigner[],
  now: number,
): AuthorizationCheck {
  if (!authorization)
    return { ok: false, problems: ['no signed approvals were handed to the activity'] };
  if (expected.planChecksum === undefined)
    expected = { ...expected, planChecksum: planOf(authorization.start) };
  const problems: string[] = [];
  const startAction: DecisionAction =
    authorization.kind === 'deploy' ? 'initiate-deploy' : 'initiate-rollback';
  const start = checkAtIssue(
    authorization.start,
    startAction,
    expected,
    allowedSigners,
    now,
    authorization.kind,
  );
  if (!start.ok) problems.push(`the initiator's signed start: ${start.reason}`);
  const initiatorFingerprint = start.ok ? start.fingerprint : undefined;

  const approvalSet = (
    requiredRoles: string[],
    extra: Pick<ApprovalSetExpectation, 'roster' | 'actionFor'>,
  ) =>
    verifyApprovalSet(
      authorization.approvals,
      {
        namespace: expected.namespace,
        environment: expected.environment,
        workflowId: expected.workflowId,
        runId: expected.runId,
        planChecksum: expected.planChecksum ?? null,
        requiredRoles,
        ...extra,
        ...(initiatorFingerprint ? { initiatorFingerprint } : {}),
      },
      allowedSigners,
      now,
    );

  if (authorization.kind === 'deploy') {
    const roles = [
      ...new Set([...expected.requiredRoles, ...authorization.approvals.map((a) => a.role)]),
    ];
    const set = approvalSet(roles, expected.roster ? { roster: expected.roster } : {});
    if (!set.ok) problems.push(...set.problems);
  } else if (authorization.approvals.length) {
    const set = approvalSet([...new Set(authorization.approvals.map((a) => a.role))], {
      actionFor: () => 'rollback-approve',
    });
    if (!set.ok) problems.push(...set.problems);
  } else if (authorization.breakGlass) {
    const glass = checkAtIssue(
      authorization.breakGlass,
      'break-glass',
      expected,
      allowedSigners,
      now,
      'rollback',
    );
    if (!glass.ok) problems.push(`the signed break-glass: ${glass.reason}`);
  } else if (expected.needsApproval)
    problems.push('this change needs a signed approval or a signed break-glass, and has neither');
  return problems.length ? { ok: false, problems } : { ok: true };
}

function checkAtIssue(
  decision: PersonDecision | undefined,
  action: DecisionAction,
  expected: AuthorizationExpectation,
  allowedSigners: readonly AllowedSigner[],
  now: number,
  kind: SignedAuthorization['kind'],
): { ok: true; fingerprint: string } | { ok: false; reason: string } {
  if (!decision?.statement || !decision.signature) return { ok: false, reason: 'unsigned' };
  let statement: DecisionStatement;
  try {
    statement = parseStatement(decision.statement);
  } catch (error) {
    if (error instanceof StatementFormatError)
      return { ok: false, reason: `malformed statement: ${error.message}` };
    throw error;
  }
  const check = verifySignedDecision(
    decision,
    {
      namespace: expected.namespace,
      environment: expected.environment,
      workflowId: expected.workflowId,
      runId: null,
      // A rollback's start names the plan it was started with; the activity may have none.
      planChecksum: kind === 'deploy' ? (expected.planChecksum ?? null) : statement.planChecksum,
      action,
      person: decision.person,
    },
    allowedSigners,
    statement.issuedAt,
    [],
  );
  if (!check.ok) return { ok: false, reason: check.reason };
  const { fingerprint } = check.decision;
  if (!isKeyAllowed(fingerprint, decision.person, allowedSigners, now))
    return { ok: false, reason: `key ${fingerprint} is no longer allowed (revoked or expired)` };
  return { ok: true, fingerprint };
}

/** The plan a signed start names (null when it names none or cannot be read). */
function planOf(start: PersonDecision | undefined): string | null {
  try {
    return start?.statement ? parseStatement(start.statement).planChecksum : null;
  } catch {
    return null;
  }
}
