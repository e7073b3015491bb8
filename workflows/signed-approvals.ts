/**
 * The workflow side of signed decisions: the approver keys come from the worker's config
 * through an activity (never from the input), the initiator's signed start is checked before
 * anything else, and the approvals granted are handed to the activities that change a
 * production-tier database, which verify them again (activities/approval-keys.ts).
 *
 * Key reloads: a `reloadApprovalKeys` signal re-reads the allowed signers at once, and the gate
 * re-reads them before the last approval opens it; either way, approvals signed by a key
 * removed from the file stop counting (revokeStaleGrants) and are recorded as refused.
 */
import { ApplicationFailure, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { PersonDecision, SignedAuthorization } from '../src/approvals/authorization';
import type { DecisionAction } from '../src/approvals/statement';
import type { SignedDecision } from '../src/approvals/verify-decision';
import { quick } from './activity-proxies';
import { checkSignedDecision, type SignatureContext } from './approval-policy';
import type { ApprovalKeys } from '../activities/approval-keys';
import { reloadApprovalKeysSignal, type ApprovalState } from './definitions';
import { fleetStatementEnvironment } from './fleet/definitions';

/** Deploys and rollbacks started before signed approvals replay without them. */
export const SIGNED_APPROVALS_PATCH = 'signed-approvals';

/** Whose approver keys a run judges with: an environment's, or a fleet's (`{ fleet }`). */
export type KeyScope = string | { fleet: string };

/** Reads the approver keys of `scope` (activity) and binds them to this run. */
export async function loadSignatureContext(scope: KeyScope): Promise<SignatureContext> {
  const keys =
    typeof scope === 'string'
      ? await quick.loadApprovalKeys.executeWithOptions(
          { summary: `read the approver keys of ${scope}` },
          [{ environment: scope }],
        )
      : await quick.loadFleetApprovalKeys.executeWithOptions(
          { summary: `read the approver keys of fleet ${scope.fleet}` },
          [{ fleet: scope.fleet }],
        );
  return signatureContextOf(keys, scope);
}

/**
 * Binds keys to this run: an environment's decisions name it and this run; a fleet's name
 * `fleet:<name>` and the rollout's first run (the same across its continue-as-new runs).
 */
export function signatureContextOf(keys: ApprovalKeys, scope: KeyScope): SignatureContext {
  const { workflowId, runId, firstExecutionRunId } = workflowInfo();
  return {
    required: keys.required,
    allowedSigners: keys.allowedSigners,
    namespace: keys.namespace,
    environment: typeof scope === 'string' ? scope : fleetStatementEnvironment(scope.fleet),
    workflowId,
    runId: typeof scope === 'string' ? runId : firstExecutionRunId,
  };
}

/** The config key of the allowed signers a statement's `environment` line points to. */
function allowedSignersKey(environment: string): string {
  const fleet = /^fleet:(.+)$/.exec(environment)?.[1];
  return `${fleet ? `fleets.${fleet}` : `environments.${environment}`}.approvals.allowedSigners`;
}

/** One statement that came with the start: the start itself, a waiver, a break-glass. */
export interface StartDecision {
  payload: SignedDecision;
  action: DecisionAction;
  /** What it is, for the refusal ("the start of this deploy"). */
  what: string;
}

/**
 * Checks the statements sent with the start (`run-id: none`, bound to this workflow id) and
 * returns the context with the initiator's key and their nonces remembered. A refused one ends
 * the run before any change with a non-retryable `SignatureRefused` naming the reason.
 */
export function verifySignedStart(
  signatures: SignatureContext,
  initiator: string,
  planChecksum: string | undefined,
  decisions: StartDecision[],
): SignatureContext {
  let context = signatures;
  const nonces: string[] = [];
  for (const decision of decisions) {
    const check = checkSignedDecision(
      decision.payload,
      decision.action,
      initiator,
      { usedNonces: nonces },
      { now: Date.now(), ...(planChecksum ? { planChecksum } : {}), signatures: context },
      { atStart: true },
    );
    if (!check.ok)
      throw ApplicationFailure.create({
        type: 'SignatureRefused',
        message: `${decision.what} by ${initiator} is refused: ${check.reason}${check.fingerprint ? ` (key ${check.fingerprint})` : ''}; the signer's public key must be in ${allowedSignersKey(signatures.environment)} of the worker's config`,
        nonRetryable: true,
      });
    if (!check.signer) continue;
    nonces.push(check.signer.nonce);
    if (decision.action === 'initiate-deploy' || decision.action === 'initiate-rollback')
      context = { ...context, initiatorFingerprint: check.signer.fingerprint };
  }
  return { ...context, startNonces: nonces };
}

/** Listens for `reloadApprovalKeys`: re-reads the keys and hands them to `apply`. */
export function listenForKeyReloads(
  environment: KeyScope,
  current: () => SignatureContext | undefined,
  apply: (signatures: SignatureContext) => void,
): void {
  setHandler(reloadApprovalKeysSignal, async () => {
    const before = current();
    if (!before) return;
    const fresh = await loadSignatureContext(environment);
    log.info('approval keys reloaded', { environment, signers: fresh.allowedSigners.length });
    const now = current() ?? before;
    apply({ ...now, required: fresh.required, allowedSigners: fresh.allowedSigners });
  });
}

/** What an activity changing the database gets: the signed start and the approvals granted. */
export function authorizationOf(
  kind: SignedAuthorization['kind'],
  start: SignedDecision & { initiator: string },
  state: Pick<ApprovalState, 'granted'>,
  breakGlass?: SignedDecision,
): SignedAuthorization {
  const signed = (d: SignedDecision | undefined, person: string): PersonDecision | undefined =>
    d?.statement && d.signature
      ? { person, statement: d.statement, signature: d.signature }
      : undefined;
  const startDecision = signed(start, start.initiator);
  const glass = signed(breakGlass, start.initiator);
  return {
    kind,
    ...(startDecision ? { start: startDecision } : {}),
    approvals: state.granted.map((g) => ({
      role: g.role,
      approver: g.approver,
      ...(g.statement ? { statement: g.statement } : {}),
      ...(g.signature ? { signature: g.signature } : {}),
    })),
    ...(glass ? { breakGlass: glass } : {}),
  };
}

/** What holds a run's approvals and judges them with the current keys (the gate). */
export interface SignatureHolder {
  readonly signatures: SignatureContext | undefined;
  refreshSignatures(signatures: SignatureContext): unknown;
}

/**
 * The approver keys one run judges with: those verified at its start, replaced when
 * `reloadApprovalKeys` arrives (registered at construction, before the first await) and when
 * the gate re-reads them before it opens; the start's initiator key and nonces are kept.
 */
export class RunSignatures {
  current: SignatureContext | undefined;

  constructor(
    private readonly environment: KeyScope,
    private readonly holder: SignatureHolder,
    listen: boolean,
  ) {
    if (listen)
      listenForKeyReloads(
        environment,
        () => holder.signatures ?? this.current,
        (fresh) => {
          this.current = fresh;
          holder.refreshSignatures(fresh);
        },
      );
  }

  /** Re-reads the keys, keeping what this run's start established (initiator key, nonces). */
  async reload(): Promise<SignatureContext> {
    const fresh = await loadSignatureContext(this.environment);
    this.current = {
      ...(this.holder.signatures ?? this.current ?? fresh),
      required: fresh.required,
      allowedSigners: fresh.allowedSigners,
    };
    return this.current;
  }
}
