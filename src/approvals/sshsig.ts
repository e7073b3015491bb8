/**
 * OpenSSH signatures (PROTOCOL.sshsig), as `ssh-keygen -Y sign` writes them, for Ed25519 keys
 * (`ssh-ed25519`) and FIDO security keys (`sk-ssh-ed25519@openssh.com`, PROTOCOL.u2f).
 * Pure and deterministic (@noble/curves and @noble/hashes, no node built-ins): the same code
 * verifies inside the Temporal workflow sandbox, in activities and in the CLI.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2';
import {
  concatBytes,
  decodeBase64,
  encodeBase64,
  sshString,
  uint32,
  utf8,
  WireFormatError,
  WireReader,
} from './bytes';

export const SSHSIG_BEGIN = '-----BEGIN SSH SIGNATURE-----';
export const SSHSIG_END = '-----END SSH SIGNATURE-----';
const MAGIC = 'SSHSIG';
const VERSION = 1;

export const ED25519 = 'ssh-ed25519';
export const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';
export const SUPPORTED_KEY_TYPES = [ED25519, SK_ED25519] as const;
export type SupportedKeyType = (typeof SUPPORTED_KEY_TYPES)[number];

/** FIDO flags (PROTOCOL.u2f): the user touched the key; the key verified the user (PIN). */
export const SK_USER_PRESENT = 0x01;
export const SK_USER_VERIFIED = 0x04;

/** An Ed25519 public key, plain or held by a FIDO security key. */
export interface SshPublicKey {
  type: SupportedKeyType;
  /** The 32-byte Ed25519 point. */
  key: Uint8Array;
  /** sk keys: the FIDO application (`ssh:` by default). */
  application?: string;
  /** The whole wire blob (what allowed-signers and `.pub` files hold in base64). */
  blob: Uint8Array;
}

export interface SshSignature {
  publicKey: SshPublicKey;
  namespace: string;
  hashAlgorithm: 'sha512' | 'sha256';
  reserved: Uint8Array;
  /** The 64-byte Ed25519 signature. */
  signature: Uint8Array;
  /** sk keys only: the FIDO flags and counter that were signed with the message. */
  sk?: { flags: number; counter: number };
}

/** A signature or key that cannot be read; the message says what is wrong with it. */
export class SshSignatureFormatError extends Error {
  override name = 'SshSignatureFormatError';
}

/** Reads a public key wire blob (`ssh-ed25519` or `sk-ssh-ed25519@openssh.com`). */
export function parsePublicKeyBlob(blob: Uint8Array): SshPublicKey {
  return wire('public key', () => {
    const reader = new WireReader(blob);
    const type = reader.text('key type');
    if (!isSupportedKeyType(type))
      throw new SshSignatureFormatError(
        `key type ${type} is not supported: use ssh-ed25519 or ${SK_ED25519}`,
      );
    const key = reader.string('Ed25519 key');
    if (key.length !== 32)
      throw new SshSignatureFormatError(`Ed25519 key of ${key.length} bytes, expected 32`);
    const application = type === SK_ED25519 ? reader.text('FIDO application') : undefined;
    reader.end('public key');
    return { type, key, blob, ...(application !== undefined ? { application } : {}) };
  });
}

/** Reads `<type> <base64> [comment]` (a `.pub` file's line). */
export function parsePublicKeyLine(line: string): SshPublicKey & { comment?: string } {
  const [type, base64, ...comment] = line.trim().split(/\s+/);
  const blob = base64 ? decodeBase64(base64) : undefined;
  if (!type || !blob) throw new SshSignatureFormatError('expected "<key type> <base64 key>"');
  const key = parsePublicKeyBlob(blob);
  if (key.type !== type)
    throw new SshSignatureFormatError(`the key says ${type} but its data is a ${key.type} key`);
  return { ...key, ...(comment.length ? { comment: comment.join(' ') } : {}) };
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
export function fingerprintOf(key: SshPublicKey | Uint8Array): string {
  const blob = key instanceof Uint8Array ? key : key.blob;
  return `SHA256:${encodeBase64(sha256(blob), false)}`;
}

/** Reads an armored `-----BEGIN SSH SIGNATURE-----` block (PROTOCOL.sshsig). */
export function parseSshSignature(armored: string): SshSignature {
  const text = armored.trim();
  if (!text.startsWith(SSHSIG_BEGIN) || !text.endsWith(SSHSIG_END))
    throw new SshSignatureFormatError(
      `not an SSH signature: expected the block between "${SSHSIG_BEGIN}" and "${SSHSIG_END}" that ssh-keygen -Y sign writes`,
    );
  const body = text.slice(SSHSIG_BEGIN.length, text.length - SSHSIG_END.length).replace(/\s+/g, '');
  const bytes = decodeBase64(body);
  if (!bytes) throw new SshSignatureFormatError('the SSH signature is not valid base64');
  return wire('SSH signature', () => {
    const reader = new WireReader(bytes);
    const magic = new TextDecoder().decode(reader.raw(MAGIC.length, 'magic'));
    if (magic !== MAGIC)
      throw new SshSignatureFormatError(`the signature does not start with "${MAGIC}"`);
    const version = reader.uint32('version');
    if (version !== VERSION)
      throw new SshSignatureFormatError(`signature version ${version}, expected ${VERSION}`);
    const publicKey = parsePublicKeyBlob(reader.string('public key'));
    const namespace = reader.text('namespace');
    const reserved = reader.string('reserved');
    const hashAlgorithm = reader.text('hash algorithm');
    if (hashAlgorithm !== 'sha512' && hashAlgorithm !== 'sha256')
      throw new SshSignatureFormatError(
        `hash algorithm ${hashAlgorithm} is not supported (sha512, sha256)`,
      );
    const inner = new WireReader(reader.string('signature'));
    reader.end('SSH signature');
    const sigType = inner.text('signature type');
    if (sigType !== publicKey.type)
      throw new SshSignatureFormatError(`a ${sigType} signature made with a ${publicKey.type} key`);
    const signature = inner.string('Ed25519 signature');
    if (signature.length !== 64)
      throw new SshSignatureFormatError(
        `Ed25519 signature of ${signature.length} bytes, expected 64`,
      );
    const sk =
      publicKey.type === SK_ED25519
        ? { flags: inner.byte('FIDO flags'), counter: inner.uint32('FIDO counter') }
        : undefined;
    inner.end('signature');
    return { publicKey, namespace, hashAlgorithm, reserved, signature, ...(sk ? { sk } : {}) };
  });
}

/**
 * True when `signature` is a valid signature of `message` by its own public key (the caller
 * decides whether that key is trusted and the namespace the expected one). Strict RFC 8032
 * verification (no malleable encodings).
 */
export function verifySshSignature(signature: SshSignature, message: Uint8Array | string): boolean {
  const data = typeof message === 'string' ? utf8(message) : message;
  const hash = signature.hashAlgorithm === 'sha512' ? sha512(data) : sha256(data);
  const signed = concatBytes(
    utf8(MAGIC),
    sshString(signature.namespace),
    sshString(signature.reserved),
    sshString(signature.hashAlgorithm),
    sshString(hash),
  );
  const { publicKey } = signature;
  // PROTOCOL.u2f: a security key signs SHA256(application) || flags || counter || SHA256(data).
  const payload =
    publicKey.type === SK_ED25519 && signature.sk
      ? concatBytes(
          sha256(utf8(publicKey.application ?? '')),
          new Uint8Array([signature.sk.flags]),
          uint32(signature.sk.counter),
          sha256(signed),
        )
      : signed;
  try {
    return ed25519.verify(signature.signature, payload, publicKey.key, { zip215: false });
  } catch {
    return false;
  }
}

function isSupportedKeyType(type: string): type is SupportedKeyType {
  return (SUPPORTED_KEY_TYPES as readonly string[]).includes(type);
}

function wire<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof WireFormatError)
      throw new SshSignatureFormatError(`malformed ${what}: ${error.message}`);
    throw error;
  }
}
