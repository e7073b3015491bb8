/**
 * Real OpenSSH keys and signatures for the signature tests: keys made with
 * `ssh-keygen -t ed25519`, statements signed with `ssh-keygen -Y sign -n pgshift`, and
 * `ssh-keygen -Y verify` to check what pgshift signed. Plus a security-key (sk) signer in
 * JS, since no FIDO token is attached to a test machine.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2';
import { concatBytes, encodeBase64, sshString, uint32, utf8 } from '../../../src/approvals/bytes';
import { SK_ED25519 } from '../../../src/approvals/sshsig';

export interface TestKey {
  /** Private key file. */
  path: string;
  /** `ssh-ed25519 AAAA… comment`. */
  publicLine: string;
  /** The base64 blob. */
  base64: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

export function tempDir(prefix = 'pgshift-keys-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function makeKey(dir: string, name: string): TestKey {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  const publicLine = readFileSync(`${path}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], {
    encoding: 'utf8',
  }).split(' ')[1];
  return { path, publicLine, base64: publicLine.split(' ')[1], fingerprint };
}

/**
 * A key per person (made with ssh-keygen) and an allowed-signers file listing the people of
 * `allowed` (default: all of them) with their keys.
 */
export function makeSigners(
  people: string[],
  allowed: string[] = people,
): { keys: Record<string, TestKey>; file: string } {
  const dir = tempDir();
  const keys = Object.fromEntries(people.map((name) => [name, makeKey(dir, name)]));
  const file = join(dir, 'allowed_signers');
  writeFileSync(file, allowed.map((name) => `${name} ${keys[name].publicLine}\n`).join(''));
  return { keys, file };
}

/** `ssh-keygen -Y sign -f <key> -n <namespace>` over `text` (as a file), returns the armored signature. */
export function sshKeygenSign(
  key: TestKey,
  text: string,
  namespace = 'pgshift',
  extra: string[] = [],
): string {
  const dir = tempDir('pgshift-sign-');
  const file = join(dir, 'statement.txt');
  writeFileSync(file, text);
  execFileSync('ssh-keygen', ['-Y', 'sign', '-f', key.path, '-n', namespace, ...extra, file], {
    stdio: 'pipe',
  });
  return readFileSync(`${file}.sig`, 'utf8');
}

/** `ssh-keygen -Y verify`: true when OpenSSH accepts the signature of `text` by `person`. */
export function sshKeygenVerify(
  allowedSignersFile: string,
  person: string,
  text: string,
  signature: string,
): boolean {
  const dir = tempDir('pgshift-verify-');
  const sigFile = join(dir, 'statement.txt.sig');
  writeFileSync(sigFile, signature);
  try {
    execFileSync(
      'ssh-keygen',
      ['-Y', 'verify', '-f', allowedSignersFile, '-I', person, '-n', 'pgshift', '-s', sigFile],
      {
        input: text,
        stdio: 'pipe',
      },
    );
    return true;
  } catch {
    return false;
  }
}

/** A FIDO security key (sk-ssh-ed25519@openssh.com) simulated in JS, signing per PROTOCOL.u2f. */
export function makeSecurityKey(seed: number, application = 'ssh:') {
  const secret = new Uint8Array(32).fill(seed);
  const point = ed25519.getPublicKey(secret);
  const blob = concatBytes(sshString(SK_ED25519), sshString(point), sshString(application));
  const base64 = encodeBase64(blob);
  return {
    base64,
    publicLine: `${SK_ED25519} ${base64} sk-test`,
    sign(text: string, flags = 0x01, counter = 7, namespace = 'pgshift'): string {
      const signed = concatBytes(
        utf8('SSHSIG'),
        sshString(namespace),
        sshString(new Uint8Array()),
        sshString('sha512'),
        sshString(sha512(utf8(text))),
      );
      const payload = concatBytes(
        sha256(utf8(application)),
        new Uint8Array([flags]),
        uint32(counter),
        sha256(signed),
      );
      const sig = ed25519.sign(payload, secret);
      const sigBlob = concatBytes(
        sshString(SK_ED25519),
        sshString(sig),
        new Uint8Array([flags]),
        uint32(counter),
      );
      const whole = concatBytes(
        utf8('SSHSIG'),
        uint32(1),
        sshString(blob),
        sshString(namespace),
        sshString(new Uint8Array()),
        sshString('sha512'),
        sshString(sigBlob),
      );
      const lines = encodeBase64(whole).match(/.{1,70}/g) ?? [];
      return ['-----BEGIN SSH SIGNATURE-----', ...lines, '-----END SSH SIGNATURE-----', ''].join(
        '\n',
      );
    },
  };
}
