/**
 * Byte helpers for the signature modules: strict base64, UTF-8 and OpenSSH's wire encoding
 * (uint32 big-endian lengths, `string` = length + bytes). Pure: no Buffer, no node built-ins,
 * so they run inside the Temporal workflow sandbox as well as in activities and the CLI.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VALUES: Record<string, number> = Object.fromEntries(
  [...ALPHABET].map((char, index) => [char, index]),
);

/** Decodes standard base64 (with its `=` padding); undefined for anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length === 0 || text.length % 4 !== 0) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const body = text.slice(0, text.length - padding);
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of body) {
    const digit = VALUES[char];
    if (digit === undefined) return undefined;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  // Non-canonical encodings (stray bits after the last byte) are refused.
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

/** Standard base64; `pad: false` drops the `=` (as ssh-keygen prints fingerprints). */
export function encodeBase64(bytes: Uint8Array, pad = true): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < 4; j++)
      out += j < chars ? ALPHABET[(chunk >> (18 - 6 * j)) & 63] : pad ? '=' : '';
  }
  return out;
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function uint32(value: number): Uint8Array {
  return new Uint8Array([
    (value >>> 24) & 0xff,
    (value >>> 16) & 0xff,
    (value >>> 8) & 0xff,
    value & 0xff,
  ]);
}

/** An SSH `string`: uint32 length, then the bytes. */
export function sshString(value: Uint8Array | string): Uint8Array {
  const bytes = typeof value === 'string' ? utf8(value) : value;
  return concatBytes(uint32(bytes.length), bytes);
}

/** Reads OpenSSH's wire encoding; every read throws WireFormatError past the end. */
export class WireReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  raw(length: number, what: string): Uint8Array {
    if (length > this.remaining)
      throw new WireFormatError(`${what}: ${length} bytes expected, ${this.remaining} left`);
    const out = this.bytes.subarray(this.at, this.at + length);
    this.at += length;
    return out;
  }

  byte(what: string): number {
    return this.raw(1, what)[0];
  }

  uint32(what: string): number {
    const b = this.raw(4, what);
    return ((b[0] << 24) >>> 0) + (b[1] << 16) + (b[2] << 8) + b[3];
  }

  string(what: string): Uint8Array {
    return this.raw(this.uint32(`length of ${what}`), what);
  }

  text(what: string): string {
    const bytes = this.string(what);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new WireFormatError(`${what}: not UTF-8 text`);
    }
  }

  end(what: string): void {
    if (this.remaining !== 0)
      throw new WireFormatError(`${what}: ${this.remaining} unexpected bytes at the end`);
  }
}

export class WireFormatError extends Error {
  override name = 'WireFormatError';
}
