import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  parsePublicKeyLine,
  parseSshSignature,
  SshSignatureFormatError,
  verifySshSignature,
} from '../../src/approvals/sshsig';
import {
  makeKey,
  makeSecurityKey,
  sshKeygenSign,
  sshKeygenVerify,
  tempDir,
  type TestKey,
} from './support/ssh-keys';

const TEXT = 'pgshift-statement v1\nperson: carol\n';
let dir: string;
let carol: TestKey;
let mallory: TestKey;

beforeAll(() => {
  dir = tempDir();
  carol = makeKey(dir, 'carol');
  mallory = makeKey(dir, 'mallory');
});

describe('OpenSSH signatures (SSHSIG)', () => {
  it('verifies what ssh-keygen -Y sign -n pgshift wrote, with sha512 and sha256', () => {
    for (const extra of [[], ['-O', 'hashalg=sha256']]) {
      const signature = parseSshSignature(sshKeygenSign(carol, TEXT, 'pgshift', extra));
      expect(signature.namespace).toBe('pgshift');
      expect(signature.hashAlgorithm).toBe(extra.length ? 'sha256' : 'sha512');
      expect(signature.publicKey.type).toBe('ssh-ed25519');
      expect(verifySshSignature(signature, TEXT)).toBe(true);
    }
  });

  it('prints the key fingerprint exactly as ssh-keygen -l does', () => {
    const signature = parseSshSignature(sshKeygenSign(carol, TEXT));
    expect(fingerprintOf(signature.publicKey)).toBe(carol.fingerprint);
    expect(fingerprintOf(parsePublicKeyLine(carol.publicLine))).toBe(carol.fingerprint);
  });

  it('refuses a signature of other text, and one whose key was swapped', () => {
    const armored = sshKeygenSign(carol, TEXT);
    expect(verifySshSignature(parseSshSignature(armored), TEXT.replace('carol', 'carl'))).toBe(
      false,
    );
    const signature = parseSshSignature(armored);
    const other = parseSshSignature(sshKeygenSign(mallory, TEXT));
    expect(verifySshSignature({ ...signature, publicKey: other.publicKey }, TEXT)).toBe(false);
  });

  it('reads the namespace it was signed under, so a signature for git cannot pass as a pgshift one', () => {
    expect(parseSshSignature(sshKeygenSign(carol, TEXT, 'git')).namespace).toBe('git');
  });

  it('refuses what is not an SSH signature, naming the problem', () => {
    expect(() => parseSshSignature('hello')).toThrow(SshSignatureFormatError);
    expect(() =>
      parseSshSignature('-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----'),
    ).toThrow(/not valid base64/);
    const truncated = sshKeygenSign(carol, TEXT).split('\n');
    truncated.splice(2, 1);
    expect(() => parseSshSignature(truncated.join('\n'))).toThrow(SshSignatureFormatError);
  });

  it('refuses RSA signatures: only Ed25519 keys sign pgshift decisions', () => {
    const rsa = join(dir, 'rsa');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', rsa]);
    expect(() => parseSshSignature(sshKeygenSign({ path: rsa } as TestKey, TEXT))).toThrow(
      /ssh-rsa is not supported/,
    );
  });

  describe('security keys (sk-ssh-ed25519@openssh.com)', () => {
    const sk = makeSecurityKey(3);

    it('verifies a security-key signature, and ssh-keygen -Y verify agrees', () => {
      const armored = sk.sign(TEXT);
      const signature = parseSshSignature(armored);
      expect(signature.publicKey.type).toBe('sk-ssh-ed25519@openssh.com');
      expect(signature.publicKey.application).toBe('ssh:');
      expect(signature.sk).toEqual({ flags: 1, counter: 7 });
      expect(verifySshSignature(signature, TEXT)).toBe(true);
      const allowed = join(dir, 'sk_allowed_signers');
      writeFileSync(allowed, `carol ${sk.publicLine}\n`);
      expect(sshKeygenVerify(allowed, 'carol', TEXT, armored)).toBe(true);
      expect(sshKeygenVerify(allowed, 'carol', `${TEXT}x`, armored)).toBe(false);
    });

    it('covers the flags and counter: changing them breaks the signature', () => {
      const signature = parseSshSignature(sk.sign(TEXT));
      expect(verifySshSignature({ ...signature, sk: { flags: 5, counter: 7 } }, TEXT)).toBe(false);
      expect(verifySshSignature({ ...signature, sk: { flags: 1, counter: 8 } }, TEXT)).toBe(false);
    });
  });
});
