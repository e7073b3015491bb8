/**
 * OpenSSH's allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS), the format git uses for SSH
 * signing: `<principals> [options] <key type> <base64 key> [comment]`. Pure: the caller reads
 * the file (an activity, the CLI) and passes its text; the parsed signers are plain JSON, so
 * they can travel into a workflow. A key removed from the file is revoked.
 */
import { decodeBase64 } from './bytes';
import {
  fingerprintOf,
  parsePublicKeyBlob,
  SshSignatureFormatError,
  SUPPORTED_KEY_TYPES,
  type SupportedKeyType,
} from './sshsig';

/** One accepted line of an allowed-signers file. Plain data (JSON-serialisable). */
export interface AllowedSigner {
  /** Principal patterns (`alice`, `*@example.com`, `!mallory`), as ssh-keygen matches them. */
  principals: string[];
  keyType: SupportedKeyType;
  /** The public key blob in base64, as written in the file. */
  key: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** `namespaces="…"`: the signature namespaces (patterns) the key may sign under. */
  namespaces?: string[];
  /** `valid-after` / `valid-before`, ms since the epoch (UTC). */
  validAfter?: number;
  validBefore?: number;
  comment?: string;
  /** `file:line`, for messages. */
  source: string;
}

/** A line that is well-formed but will never verify anything pgshift accepts. */
export interface IgnoredSignerLine {
  source: string;
  reason: string;
}

export interface AllowedSigners {
  signers: AllowedSigner[];
  ignored: IgnoredSignerLine[];
}

/** Every problem of an allowed-signers file, each naming `file:line`. */
export class AllowedSignersError extends Error {
  override name = 'AllowedSignersError';
  constructor(
    readonly file: string,
    readonly problems: { line: number; message: string }[],
  ) {
    super(
      `${file}: ${problems.length === 1 ? 'invalid allowed-signers line' : `${problems.length} invalid allowed-signers lines`}\n` +
        problems.map((p) => `  ${file}:${p.line}: ${p.message}`).join('\n'),
    );
  }
}

const KNOWN_OPTIONS = ['cert-authority', 'namespaces', 'valid-after', 'valid-before'];

/**
 * Parses an allowed-signers file. Throws AllowedSignersError listing every malformed line;
 * returns the usable signers and the lines it ignores (keys of other types, certificate
 * authorities) with the reason, for the caller to warn about.
 */
export function parseAllowedSigners(text: string, file: string): AllowedSigners {
  const signers: AllowedSigner[] = [];
  const ignored: IgnoredSignerLine[] = [];
  const problems: { line: number; message: string }[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    const source = `${file}:${index + 1}`;
    try {
      const entry = parseLine(line, source);
      if ('reason' in entry) ignored.push(entry);
      else signers.push(entry);
    } catch (error) {
      if (!(error instanceof LineError || error instanceof SshSignatureFormatError)) throw error;
      problems.push({ line: index + 1, message: error.message });
    }
  });
  if (problems.length > 0) throw new AllowedSignersError(file, problems);
  return { signers, ignored };
}

/**
 * ssh_config(5) pattern-list matching, as ssh-keygen applies it to principals and namespaces:
 * comma-separated patterns with `*` and `?`; a matching `!pattern` refuses outright.
 */
export function matchPatternList(value: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!matchPattern(value, negated ? pattern.slice(1) : pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/**
 * True when `person` may sign with the key `fingerprint` at `now`: the key is listed for a
 * matching principal, for the `pgshift` namespace, inside its valid-after/valid-before. A key
 * removed from the file is revoked.
 */
export function isKeyAllowed(
  fingerprint: string,
  person: string,
  allowedSigners: readonly AllowedSigner[],
  now: number,
  namespace = 'pgshift',
): boolean {
  return allowedSigners.some(
    (signer) =>
      signer.fingerprint === fingerprint &&
      matchPatternList(person, signer.principals) &&
      (!signer.namespaces || matchPatternList(namespace, signer.namespaces)) &&
      (signer.validAfter === undefined || now >= signer.validAfter) &&
      (signer.validBefore === undefined || now <= signer.validBefore),
  );
}

function matchPattern(value: string, pattern: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 's').test(value);
}

class LineError extends Error {}

function parseLine(line: string, source: string): AllowedSigner | IgnoredSignerLine {
  const fields = splitFields(line);
  const principalsField = fields.shift();
  if (!principalsField || fields.length === 0)
    throw new LineError('expected "<principals> [options] <key type> <base64 key>"');
  const principals = splitList(unquote(principalsField));
  if (principals.some((p) => p === ''))
    throw new LineError(`empty principal in "${principalsField}"`);
  const options = looksLikeKeyType(fields[0]) ? undefined : fields.shift();
  const [keyType, base64, ...comment] = fields;
  if (!keyType || !base64)
    throw new LineError('expected a key type and a base64 key after the principals');
  const parsedOptions = options === undefined ? {} : parseOptions(options);
  if (parsedOptions.certAuthority)
    return {
      source,
      reason: "cert-authority lines are not supported by pgshift: list each person's own key",
    };
  if (!(SUPPORTED_KEY_TYPES as readonly string[]).includes(keyType)) {
    if (!looksLikeKeyType(keyType)) throw new LineError(`"${keyType}" is not a key type`);
    return {
      source,
      reason: `${keyType} keys are not accepted for pgshift decisions (use ssh-ed25519 or sk-ssh-ed25519@openssh.com)`,
    };
  }
  const blob = decodeBase64(base64);
  if (!blob) throw new LineError('the key is not valid base64');
  const key = parsePublicKeyBlob(blob);
  if (key.type !== keyType)
    throw new LineError(`the line says ${keyType} but the key data is a ${key.type} key`);
  const { namespaces, validAfter, validBefore } = parsedOptions;
  if (validAfter !== undefined && validBefore !== undefined && validBefore <= validAfter)
    throw new LineError('valid-before is not after valid-after');
  return {
    principals,
    keyType: key.type,
    key: base64,
    fingerprint: fingerprintOf(key),
    ...(namespaces ? { namespaces } : {}),
    ...(validAfter !== undefined ? { validAfter } : {}),
    ...(validBefore !== undefined ? { validBefore } : {}),
    ...(comment.length ? { comment: comment.join(' ') } : {}),
    source,
  };
}

function parseOptions(text: string): {
  certAuthority?: boolean;
  namespaces?: string[];
  validAfter?: number;
  validBefore?: number;
} {
  const out: ReturnType<typeof parseOptions> = {};
  for (const option of splitOutsideQuotes(text, ',')) {
    const eq = option.indexOf('=');
    const name = (eq < 0 ? option : option.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? undefined : option.slice(eq + 1);
    if (!KNOWN_OPTIONS.includes(name))
      throw new LineError(`unknown option "${name}" (known: ${KNOWN_OPTIONS.join(', ')})`);
    if (name === 'cert-authority') {
      if (value !== undefined) throw new LineError('cert-authority takes no value');
      out.certAuthority = true;
      continue;
    }
    if (value === undefined || !/^".*"$/s.test(value))
      throw new LineError(
        `${name} needs a double-quoted value, e.g. ${name}="${name === 'namespaces' ? 'pgshift' : '20250101Z'}"`,
      );
    const inner = value.slice(1, -1);
    if (name === 'namespaces') out.namespaces = splitList(inner);
    else if (name === 'valid-after') out.validAfter = parseTimestamp(inner, name);
    else out.validBefore = parseTimestamp(inner, name);
  }
  return out;
}

/**
 * `YYYYMMDD[HHMM[SS]]Z`. ssh-keygen reads a time without `Z` in the machine's time zone;
 * pgshift's verifier is deterministic and has none, so it requires the `Z` (UTC).
 */
function parseTimestamp(text: string, option: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z?)$/.exec(text);
  if (!match) throw new LineError(`${option}="${text}": expected YYYYMMDD[HHMM[SS]]Z`);
  if (!match[7])
    throw new LineError(`${option}="${text}": add a Z (UTC); pgshift does not read local times`);
  const [year, month, day, hour, minute, second] = match
    .slice(1, 7)
    .map((part) => Number(part ?? 0));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  if (
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    throw new LineError(`${option}="${text}" is not a valid date`);
  return ms;
}

function looksLikeKeyType(token: string): boolean {
  return /^(ssh-|ecdsa-|sk-|rsa-sha2-)[A-Za-z0-9@.+-]+$/.test(token);
}

/** Whitespace-separated fields; double quotes keep spaces inside one field. */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    if (!quoted && /\s/.test(char)) {
      if (current) fields.push(current);
      current = '';
    } else current += char;
  }
  if (quoted) throw new LineError('unterminated double quote');
  if (current) fields.push(current);
  return fields;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (!quoted && char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function unquote(text: string): string {
  return /^".*"$/s.test(text) ? text.slice(1, -1) : text;
}

function splitList(text: string): string[] {
  return text.split(',').map((item) => item.trim());
}
