/**
 * The canonical statement a person signs for one decision: line-oriented text a human can read
 * and `ssh-keygen -Y sign -n pgshift statement.txt` can sign as a file. There is exactly one way
 * to write a given statement; `parseStatement` refuses anything else (extra spaces, another
 * field order, CR line ends, a missing final newline), so a signature covers what a person read.
 *
 *     pgshift-statement v1
 *     temporal-namespace: default
 *     environment: production
 *     workflow-id: deploy-production-3f2a9c1b7d4e
 *     run-id: 0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e
 *     plan-checksum: 3f2a9c1b7d4e…(64 hex digits)
 *     action: approve:devops
 *     person: carol
 *     reason: reviewed the plan and the rehearsal report
 *     issued-at: 2026-12-01T14:30:00Z
 *     expires-at: 2026-12-01T15:30:00Z
 *     nonce: 9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e
 */

export const STATEMENT_HEADER = 'pgshift-statement v1';
/** The SSHSIG namespace of every pgshift signature (`ssh-keygen -Y sign -n pgshift`). */
export const SIGNATURE_NAMESPACE = 'pgshift';
/** What `run-id` and `plan-checksum` say when there is none (a start, a rollback without plan). */
export const NONE = 'none';

/** The decisions a person signs. `approve:<role>` approves one role of a deploy. */
export const DECISION_ACTIONS = [
  'reject',
  'break-glass',
  'cancel',
  'rehearsal-waiver',
  'rollback-approve',
  'initiate-deploy',
  'initiate-rollback',
  'fleet-resume',
  'fleet-rollback',
] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number] | `approve:${string}`;

export interface DecisionStatement {
  /** The Temporal namespace of the workflow. */
  namespace: string;
  environment: string;
  workflowId: string;
  /** null before the run exists (the statement that starts it). */
  runId: string | null;
  /** The full sha256 of the plan; null when the decision has no plan (some rollbacks). */
  planChecksum: string | null;
  action: DecisionAction;
  person: string;
  /** One line; may be empty (an approval without comment). */
  reason: string;
  /** ms since the epoch, whole seconds. */
  issuedAt: number;
  expiresAt: number;
  nonce: string;
}

/** A statement that is not canonical or not valid; the message names the line. */
export class StatementFormatError extends Error {
  override name = 'StatementFormatError';
}

const FIELDS = [
  ['temporal-namespace', 'namespace'],
  ['environment', 'environment'],
  ['workflow-id', 'workflowId'],
  ['run-id', 'runId'],
  ['plan-checksum', 'planChecksum'],
  ['action', 'action'],
  ['person', 'person'],
  ['reason', 'reason'],
  ['issued-at', 'issuedAt'],
  ['expires-at', 'expiresAt'],
  ['nonce', 'nonce'],
] as const;

const ONE_LINE = /^[^\p{Cc}\p{Zl}\p{Zp}]*$/u;
const TRIMMED = /^(\S(.*\S)?)?$/su;
const PATTERNS = {
  namespace: /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/,
  /** An environment, or `fleet:<name>` for the decisions of a fleet rollout. */
  environment: /^(fleet:)?[A-Za-z0-9][A-Za-z0-9_-]*$/,
  workflowId: /^[\x21-\x7e]{1,1000}$/,
  runId: /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/,
  planChecksum: /^[0-9a-f]{64}$/,
  role: /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
  nonce: /^[0-9a-f]{32,64}$/,
};

/** Writes the canonical text (ends with a newline). Throws StatementFormatError when invalid. */
export function formatStatement(statement: DecisionStatement): string {
  validateStatement(statement);
  return serialise(statement);
}

/** Reads a statement, refusing anything that is not exactly what formatStatement writes. */
export function parseStatement(text: string): DecisionStatement {
  if (text.includes('\r'))
    throw new StatementFormatError('the statement has CR characters: use LF line ends');
  if (!text.endsWith('\n')) throw new StatementFormatError('the statement must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== STATEMENT_HEADER)
    throw new StatementFormatError(`line 1 must read "${STATEMENT_HEADER}"`);
  if (lines.length !== FIELDS.length + 1)
    throw new StatementFormatError(
      `expected ${FIELDS.length + 1} lines (${STATEMENT_HEADER} and ${FIELDS.map(([label]) => label).join(', ')}), found ${lines.length}`,
    );
  const values: Record<string, string> = {};
  FIELDS.forEach(([label, key], index) => {
    const line = lines[index + 1];
    const prefix = `${label}:`;
    if (!line.startsWith(prefix))
      throw new StatementFormatError(`line ${index + 2} must start with "${prefix}"`);
    const rest = line.slice(prefix.length);
    if (rest !== '' && !rest.startsWith(' '))
      throw new StatementFormatError(`line ${index + 2}: one space after "${prefix}"`);
    values[key] = rest.slice(1);
  });
  const statement: DecisionStatement = {
    namespace: values.namespace,
    environment: values.environment,
    workflowId: values.workflowId,
    runId: values.runId === NONE ? null : values.runId,
    planChecksum: values.planChecksum === NONE ? null : values.planChecksum,
    action: values.action as DecisionAction,
    person: values.person,
    reason: values.reason,
    issuedAt: parseInstant(values.issuedAt, 'issued-at'),
    expiresAt: parseInstant(values.expiresAt, 'expires-at'),
    nonce: values.nonce,
  };
  validateStatement(statement);
  if (serialise(statement) !== text)
    throw new StatementFormatError(
      'the statement is not in canonical form (spacing or layout differs from what pgshift writes)',
    );
  return statement;
}

/** True for `approve:<role>` and the fixed actions. */
export function isDecisionAction(action: string): action is DecisionAction {
  if (action.startsWith('approve:')) return PATTERNS.role.test(action.slice('approve:'.length));
  return (DECISION_ACTIONS as readonly string[]).includes(action);
}

function validateStatement(s: DecisionStatement): void {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new StatementFormatError(message);
  };
  check(
    PATTERNS.namespace.test(s.namespace),
    `temporal-namespace "${s.namespace}" is not a namespace name`,
  );
  check(
    PATTERNS.environment.test(s.environment),
    `environment "${s.environment}" is not an environment name`,
  );
  check(
    PATTERNS.workflowId.test(s.workflowId),
    'workflow-id must be printable ASCII without spaces',
  );
  check(
    s.runId === null || (PATTERNS.runId.test(s.runId) && s.runId !== NONE),
    `run-id "${s.runId}" is not a run id (or "${NONE}")`,
  );
  check(
    s.planChecksum === null || PATTERNS.planChecksum.test(s.planChecksum),
    `plan-checksum must be the full sha256 (64 lowercase hex digits) or "${NONE}"`,
  );
  check(
    isDecisionAction(s.action),
    `action "${s.action}" is not one of approve:<role>, ${DECISION_ACTIONS.join(', ')}`,
  );
  check(
    s.person.length > 0 &&
      s.person.length <= 200 &&
      ONE_LINE.test(s.person) &&
      TRIMMED.test(s.person),
    'person must be one line of 1 to 200 characters, without leading or trailing spaces',
  );
  check(
    s.reason.length <= 2000 && ONE_LINE.test(s.reason) && TRIMMED.test(s.reason),
    'reason must be one line of at most 2000 characters, without leading or trailing spaces',
  );
  check(wholeSeconds(s.issuedAt), 'issued-at must be a whole second');
  check(wholeSeconds(s.expiresAt), 'expires-at must be a whole second');
  check(s.expiresAt > s.issuedAt, 'expires-at must be after issued-at');
  check(PATTERNS.nonce.test(s.nonce), 'nonce must be 32 to 64 lowercase hex digits');
}

function serialise(s: DecisionStatement): string {
  const text: Record<(typeof FIELDS)[number][1], string> = {
    namespace: s.namespace,
    environment: s.environment,
    workflowId: s.workflowId,
    runId: s.runId ?? NONE,
    planChecksum: s.planChecksum ?? NONE,
    action: s.action,
    person: s.person,
    reason: s.reason,
    issuedAt: formatInstant(s.issuedAt),
    expiresAt: formatInstant(s.expiresAt),
    nonce: s.nonce,
  };
  const lines = FIELDS.map(([label, key]) =>
    text[key] === '' ? `${label}:` : `${label}: ${text[key]}`,
  );
  return `${[STATEMENT_HEADER, ...lines].join('\n')}\n`;
}

/** `2026-12-01T14:30:00Z` (whole seconds, UTC). */
export function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseInstant(text: string, label: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(text))
    throw new StatementFormatError(
      `${label} must read like 2026-12-01T14:30:00Z (UTC, whole seconds)`,
    );
  const ms = Date.parse(text);
  if (!Number.isFinite(ms) || formatInstant(ms) !== text)
    throw new StatementFormatError(`${label} "${text}" is not a valid time`);
  return ms;
}

function wholeSeconds(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms % 1000 === 0;
}
