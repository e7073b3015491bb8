/**
 * The one check of a signed decision, used by the approval policy inside workflows (signal
 * handlers and update validators) and by activities that re-verify before they touch a
 * production database. Pure and deterministic: the caller passes the allowed signers (read
 * from the worker's config), the time and the nonces already used.
 */
import { matchPatternList, type AllowedSigner } from './allowed-signers';
import {
  fingerprintOf,
  parseSshSignature,
  SK_USER_PRESENT,
  SshSignatureFormatError,
  verifySshSignature,
  type SshSignature,
} from './sshsig';
import {
  formatInstant,
  NONE,
  parseStatement,
  SIGNATURE_NAMESPACE,
  StatementFormatError,
  type DecisionStatement,
} from './statement';

/** What a decision payload carries besides its plain fields. */
export interface SignedDecision {
  statement?: string;
  signature?: string;
}

/** What the statement must say for this workflow, run and decision. */
export type ExpectedDecision = Pick<
  DecisionStatement,
  'namespace' | 'environment' | 'workflowId' | 'runId' | 'planChecksum' | 'action' | 'person'
>;

export interface VerifiedDecision {
  statement: DecisionStatement;
  /** The person, proven by a key whose allowed-signers principals match that name. */
  principal: string;
  /** `SHA256:…` of the key that signed, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  keyType: string;
  /** Where the key is listed (`file:line`). */
  signerSource: string;
  expiresAt: number;
  nonce: string;
}

export const REFUSAL_CODES = [
  'unsigned',
  'malformed-statement',
  'malformed-signature',
  'wrong-signature-namespace',
  'bad-signature',
  'unknown-key',
  'wrong-principal',
  'key-namespace-not-allowed',
  'key-not-yet-valid',
  'key-expired',
  'security-key-not-touched',
  'other-decision',
  'issued-in-the-future',
  'expired',
  'replayed',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type SignedDecisionCheck =
  | { ok: true; decision: VerifiedDecision }
  /** `fingerprint`: the key that signed, once the signature could be read. */
  | { ok: false; code: RefusalCode; reason: string; fingerprint?: string };

export interface VerifyOptions {
  /** How far in the future issued-at may be (signers' clocks drift); default 5 minutes. */
  clockSkewMs?: number;
}

export const DEFAULT_CLOCK_SKEW_MS = 5 * 60_000;

/** `parse(text)`, or the message of the format error it threw; any other error propagates. */
function parseOrProblem<T extends object>(
  parse: (text: string) => T,
  text: string,
  FormatError: abstract new (...args: never[]) => Error,
): T | { problem: string } {
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    return { problem: error.message };
  }
}

/**
 * Verifies one signed decision: the SSHSIG signature of the statement under the namespace
 * `pgshift`, by a key in `allowedSigners` whose principals match the statement's person, valid
 * now (valid-after/valid-before, namespaces), for exactly the expected namespace, environment,
 * workflow, run, plan, action and person, not expired, and with a nonce not seen before.
 */
export function verifySignedDecision(
  signed: SignedDecision,
  expected: ExpectedDecision,
  allowedSigners: readonly AllowedSigner[],
  now: number,
  seenNonces: ReadonlySet<string> | readonly string[] = [],
  options: VerifyOptions = {},
): SignedDecisionCheck {
  const refuse = (code: RefusalCode, reason: string): SignedDecisionCheck => ({
    ok: false,
    code,
    reason,
  });
  if (!signed.statement || !signed.signature)
    return refuse(
      'unsigned',
      `unsigned ${expected.action}: this ${expected.environment.startsWith('fleet:') ? 'fleet' : 'environment'} requires a signed statement (approvals.requireSignatures); sign it with --key, or print it with --print-statement and sign it with ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE}`,
    );

  const statement = parseOrProblem(parseStatement, signed.statement, StatementFormatError);
  if ('problem' in statement)
    return refuse('malformed-statement', `malformed statement: ${statement.problem}`);
  const signature = parseOrProblem(parseSshSignature, signed.signature, SshSignatureFormatError);
  if ('problem' in signature)
    return refuse('malformed-signature', `malformed signature: ${signature.problem}`);
  if (signature.namespace !== SIGNATURE_NAMESPACE)
    return refuse(
      'wrong-signature-namespace',
      `the signature was made for namespace "${signature.namespace}", not "${SIGNATURE_NAMESPACE}" (ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE})`,
    );
  const fingerprint = fingerprintOf(signature.publicKey);
  const refuseKey = (code: RefusalCode, reason: string): SignedDecisionCheck => ({
    ok: false,
    code,
    reason,
    fingerprint,
  });
  if (!verifySshSignature(signature, signed.statement))
    return refuseKey(
      'bad-signature',
      `the signature by key ${fingerprint} does not match the statement (altered or forged)`,
    );

  const sameKey = allowedSigners.filter(
    (signer) => signer.keyType === signature.publicKey.type && signer.fingerprint === fingerprint,
  );
  if (sameKey.length === 0)
    return refuseKey(
      'unknown-key',
      `key ${fingerprint} is not in the allowed signers (never added, or revoked)`,
    );
  const forPerson = sameKey.filter((signer) =>
    matchPatternList(statement.person, signer.principals),
  );
  if (forPerson.length === 0)
    return refuseKey(
      'wrong-principal',
      `key ${fingerprint} is allowed for ${sameKey.map((s) => s.principals.join(',')).join('; ')}, not for ${statement.person} (${sameKey[0].source})`,
    );
  let keyProblem: { code: RefusalCode; reason: string } | undefined;
  const signer = forPerson.find((candidate) => {
    keyProblem = keyProblemOf(candidate, signature, fingerprint, now);
    return keyProblem === undefined;
  });
  if (!signer) return refuseKey(keyProblem!.code, keyProblem!.reason);

  const mismatch = firstMismatch(statement, expected);
  if (mismatch) return refuseKey('other-decision', mismatch);
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (statement.issuedAt > now + skew)
    return refuseKey(
      'issued-in-the-future',
      `the statement was issued at ${formatInstant(statement.issuedAt)}, after now (${formatInstant(now)}): check the signer's clock`,
    );
  if (now >= statement.expiresAt)
    return refuseKey(
      'expired',
      `the statement expired at ${formatInstant(statement.expiresAt)}: sign a new one`,
    );
  const seen = Array.isArray(seenNonces)
    ? seenNonces.includes(statement.nonce)
    : (seenNonces as ReadonlySet<string>).has(statement.nonce);
  if (seen)
    return refuseKey(
      'replayed',
      `nonce ${statement.nonce} was already used: a statement counts once; sign a new one`,
    );

  return {
    ok: true,
    decision: {
      statement,
      principal: statement.person,
      fingerprint,
      keyType: signature.publicKey.type,
      signerSource: signer.source,
      expiresAt: statement.expiresAt,
      nonce: statement.nonce,
    },
  };
}

function keyProblemOf(
  signer: AllowedSigner,
  signature: SshSignature,
  fingerprint: string,
  now: number,
): { code: RefusalCode; reason: string } | undefined {
  if (signer.namespaces && !matchPatternList(SIGNATURE_NAMESPACE, signer.namespaces))
    return {
      code: 'key-namespace-not-allowed',
      reason: `key ${fingerprint} may sign only for namespaces="${signer.namespaces.join(',')}", not "${SIGNATURE_NAMESPACE}" (${signer.source})`,
    };
  if (signer.validAfter !== undefined && now < signer.validAfter)
    return {
      code: 'key-not-yet-valid',
      reason: `key ${fingerprint} is valid only after ${formatInstant(signer.validAfter)} (${signer.source})`,
    };
  if (signer.validBefore !== undefined && now > signer.validBefore)
    return {
      code: 'key-expired',
      reason: `key ${fingerprint} was valid only before ${formatInstant(signer.validBefore)} (${signer.source})`,
    };
  if (signature.sk && (signature.sk.flags & SK_USER_PRESENT) === 0)
    return {
      code: 'security-key-not-touched',
      reason: `security key ${fingerprint} signed without user presence (nobody touched it)`,
    };
  return undefined;
}

function firstMismatch(
  statement: DecisionStatement,
  expected: ExpectedDecision,
): string | undefined {
  const pairs: [label: string, got: string, want: string][] = [
    ['Temporal namespace', statement.namespace, expected.namespace],
    ['environment', statement.environment, expected.environment],
    ['workflow', statement.workflowId, expected.workflowId],
    ['run', statement.runId ?? NONE, expected.runId ?? NONE],
    ['plan', statement.planChecksum ?? NONE, expected.planChecksum ?? NONE],
    ['action', statement.action, expected.action],
    ['person', statement.person, expected.person],
  ];
  for (const [label, got, want] of pairs)
    if (got !== want) return `the statement is for ${label} ${got}, but this is ${label} ${want}`;
  return undefined;
}
