import { beforeAll, describe, expect, it } from 'vitest';
import {
  AllowedSignersError,
  matchPatternList,
  parseAllowedSigners,
} from '../../src/approvals/allowed-signers';
import { makeKey, makeSecurityKey, tempDir, type TestKey } from './support/ssh-keys';

let alice: TestKey;
let carol: TestKey;

beforeAll(() => {
  const dir = tempDir();
  alice = makeKey(dir, 'alice');
  carol = makeKey(dir, 'carol');
});

describe('allowed-signers file', () => {
  it('reads principals, options, key and comment, with the key fingerprint', () => {
    const text = [
      '# approvers of production',
      '',
      `alice,alice@example.com ${alice.publicLine}`,
      `carol namespaces="pgshift,git",valid-after="20260101Z",valid-before="202701011200Z" ${carol.publicLine}`,
    ].join('\n');
    const { signers, ignored } = parseAllowedSigners(text, 'keys/allowed_signers');
    expect(ignored).toEqual([]);
    expect(signers).toEqual([
      {
        principals: ['alice', 'alice@example.com'],
        keyType: 'ssh-ed25519',
        key: alice.base64,
        fingerprint: alice.fingerprint,
        comment: 'alice',
        source: 'keys/allowed_signers:3',
      },
      {
        principals: ['carol'],
        keyType: 'ssh-ed25519',
        key: carol.base64,
        fingerprint: carol.fingerprint,
        namespaces: ['pgshift', 'git'],
        validAfter: Date.parse('2026-01-01T00:00:00Z'),
        validBefore: Date.parse('2027-01-01T12:00:00Z'),
        comment: 'carol',
        source: 'keys/allowed_signers:4',
      },
    ]);
  });

  it('reads security keys and quoted principals', () => {
    const sk = makeSecurityKey(9);
    const { signers } = parseAllowedSigners(`"Carol Smith" ${sk.publicLine}\n`, 'f');
    expect(signers[0]).toMatchObject({
      principals: ['Carol Smith'],
      keyType: 'sk-ssh-ed25519@openssh.com',
    });
  });

  it('ignores certificate authorities and keys of other types, saying why', () => {
    const text = [
      `*@example.com cert-authority ${alice.publicLine}`,
      'bob ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7',
      `carol ${carol.publicLine}`,
    ].join('\n');
    const { signers, ignored } = parseAllowedSigners(text, 'allowed_signers');
    expect(signers.map((s) => s.principals)).toEqual([['carol']]);
    expect(ignored).toEqual([
      {
        source: 'allowed_signers:1',
        reason: expect.stringMatching(/cert-authority lines are not supported/),
      },
      {
        source: 'allowed_signers:2',
        reason: expect.stringMatching(/ssh-rsa keys are not accepted/),
      },
    ]);
  });

  it('reports every malformed line at once, naming file and line', () => {
    const text = [
      `alice ${alice.publicLine}`,
      'bob',
      `carol valid-after=20260101Z ${carol.publicLine}`,
      `dave bogus-option ${carol.publicLine}`,
      `erin valid-before="20260101" ${carol.publicLine}`,
      'frank ssh-ed25519 not-base64!',
      `gina ssh-ed25519 ${makeSecurityKey(1).base64}`,
    ].join('\n');
    let error: AllowedSignersError | undefined;
    try {
      parseAllowedSigners(text, '/etc/pgshift/allowed_signers');
    } catch (caught) {
      error = caught as AllowedSignersError;
    }
    expect(error).toBeInstanceOf(AllowedSignersError);
    expect(error!.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(error!.message).toMatch(/\/etc\/pgshift\/allowed_signers:2: expected "<principals>/);
    expect(error!.message).toMatch(/allowed_signers:3: valid-after needs a double-quoted value/);
    expect(error!.message).toMatch(/allowed_signers:4: unknown option "bogus-option"/);
    expect(error!.message).toMatch(/allowed_signers:5: valid-before="20260101": add a Z \(UTC\)/);
    expect(error!.message).toMatch(/allowed_signers:6: the key is not valid base64/);
    expect(error!.message).toMatch(
      /allowed_signers:7: the line says ssh-ed25519 but the key data is a sk-ssh-ed25519/,
    );
  });

  it('matches principal patterns as ssh-keygen does: wildcards, and a negation refuses', () => {
    expect(matchPatternList('alice@example.com', ['*@example.com'])).toBe(true);
    expect(matchPatternList('al', ['a?'])).toBe(true);
    expect(matchPatternList('alice', ['Alice'])).toBe(false);
    expect(matchPatternList('mallory@example.com', ['*@example.com', '!mallory@*'])).toBe(false);
    expect(matchPatternList('a.b', ['a?b'])).toBe(true);
    expect(matchPatternList('axb', ['a.b'])).toBe(false);
  });
});
