import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigner } from '../../src/approvals/allowed-signers';
import { formatStatement, type DecisionStatement } from '../../src/approvals/statement';
import {
  verifySignedDecision,
  type ExpectedDecision,
  type RefusalCode,
  type SignedDecision,
} from '../../src/approvals/verify-decision';
import { makeKey, makeSecurityKey, sshKeygenSign, tempDir, type TestKey } from './support/ssh-keys';

const PLAN = '3f2a9c1b7d4e'.padEnd(64, 'a');
const NOW = Date.parse('2026-12-01T14:40:00Z');

const EXPECTED: ExpectedDecision = {
  namespace: 'default',
  environment: 'production',
  workflowId: 'deploy-production-3f2a9c1b7d4e',
  runId: '0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e',
  planChecksum: PLAN,
  action: 'approve:devops',
  person: 'carol',
};

const STATEMENT: DecisionStatement = {
  ...EXPECTED,
  reason: 'reviewed',
  issuedAt: Date.parse('2026-12-01T14:30:00Z'),
  expiresAt: Date.parse('2026-12-01T15:30:00Z'),
  nonce: '9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e',
};

let carol: TestKey;
let alice: TestKey;
let mallory: TestKey;
const sk = makeSecurityKey(5);
let signers: AllowedSigner[];

beforeAll(() => {
  const dir = tempDir();
  carol = makeKey(dir, 'carol');
  alice = makeKey(dir, 'alice');
  mallory = makeKey(dir, 'mallory');
  signers = parseAllowedSigners(
    [`carol ${carol.publicLine}`, `alice ${alice.publicLine}`, `carol ${sk.publicLine}`].join('\n'),
    'allowed_signers',
  ).signers;
});

function signed(
  overrides: Partial<DecisionStatement> = {},
  key: TestKey = carol,
  namespace = 'pgshift',
): SignedDecision {
  const statement = formatStatement({ ...STATEMENT, ...overrides });
  return { statement, signature: sshKeygenSign(key, statement, namespace) };
}

function expectRefused(
  decision: SignedDecision,
  code: RefusalCode,
  reason: RegExp,
  options: {
    expected?: Partial<ExpectedDecision>;
    signers?: AllowedSigner[];
    now?: number;
    seen?: string[];
  } = {},
) {
  const check = verifySignedDecision(
    decision,
    { ...EXPECTED, ...options.expected },
    options.signers ?? signers,
    options.now ?? NOW,
    options.seen ?? [],
  );
  expect(check).toMatchObject({ ok: false, code, reason: expect.stringMatching(reason) });
}

describe('verifySignedDecision', () => {
  it('accepts a statement signed with ssh-keygen by the person it names, for this run, plan and role', () => {
    const check = verifySignedDecision(
      signed(),
      EXPECTED,
      signers,
      NOW,
      new Set(['another-nonce']),
    );
    expect(check).toEqual({
      ok: true,
      decision: {
        statement: STATEMENT,
        principal: 'carol',
        fingerprint: carol.fingerprint,
        keyType: 'ssh-ed25519',
        signerSource: 'allowed_signers:1',
        expiresAt: STATEMENT.expiresAt,
        nonce: STATEMENT.nonce,
      },
    });
  });

  it('accepts a security key that was touched', () => {
    const statement = formatStatement(STATEMENT);
    const check = verifySignedDecision(
      { statement, signature: sk.sign(statement) },
      EXPECTED,
      signers,
      NOW,
    );
    expect(check.ok && check.decision.keyType).toBe('sk-ssh-ed25519@openssh.com');
  });

  describe('refuses, naming what is wrong', () => {
    it('an unsigned decision', () => {
      expectRefused(
        {},
        'unsigned',
        /unsigned approve:devops: this environment requires a signed statement/,
      );
      expectRefused(
        { statement: formatStatement(STATEMENT) },
        'unsigned',
        /requires a signed statement/,
      );
    });

    it('a malformed statement', () => {
      const { signature } = signed();
      expectRefused(
        { statement: 'approve everything\n', signature },
        'malformed-statement',
        /malformed statement: .*line 1/,
      );
    });

    it('a malformed signature', () => {
      expectRefused(
        { statement: formatStatement(STATEMENT), signature: 'trust me' },
        'malformed-signature',
        /malformed signature: not an SSH signature/,
      );
    });

    it('a signature made under another namespace (a git commit signature)', () => {
      expectRefused(
        signed({}, carol, 'git'),
        'wrong-signature-namespace',
        /namespace "git", not "pgshift"/,
      );
    });

    it('a statement altered after signing', () => {
      const { signature } = signed();
      const statement = formatStatement({ ...STATEMENT, action: 'approve:executive' });
      expectRefused(
        { statement, signature },
        'bad-signature',
        /does not match the statement \(altered or forged\)/,
      );
    });

    it('a key not in the allowed signers (never added, or revoked)', () => {
      expectRefused(
        signed({}, mallory),
        'unknown-key',
        new RegExp(`key ${escape(mallory.fingerprint)} is not in the allowed signers`),
      );
      const revoked = signers.filter((s) => s.fingerprint !== carol.fingerprint);
      expectRefused(signed(), 'unknown-key', /revoked/, { signers: revoked });
    });

    it("a key that belongs to someone else than the statement's person", () => {
      expectRefused(signed({}, alice), 'wrong-principal', /is allowed for alice, not for carol/);
    });

    it('a key outside its valid-after / valid-before, or limited to other namespaces', () => {
      const limited = (options: string) =>
        parseAllowedSigners(`carol ${options} ${carol.publicLine}`, 'allowed_signers').signers;
      expectRefused(signed(), 'key-not-yet-valid', /valid only after 2027-01-01T00:00:00Z/, {
        signers: limited('valid-after="20270101Z"'),
      });
      expectRefused(signed(), 'key-expired', /valid only before 2026-12-01T00:00:00Z/, {
        signers: limited('valid-before="20261201Z"'),
      });
      expectRefused(signed(), 'key-namespace-not-allowed', /namespaces="git", not "pgshift"/, {
        signers: limited('namespaces="git"'),
      });
    });

    it('a security key nobody touched', () => {
      const statement = formatStatement(STATEMENT);
      expectRefused(
        { statement, signature: sk.sign(statement, 0x00) },
        'security-key-not-touched',
        /without user presence/,
      );
    });

    it('a statement for another run, plan, role, workflow, environment, namespace or person', () => {
      const cases: [Partial<ExpectedDecision>, RegExp][] = [
        [{ runId: 'another-run' }, /for run 0193a7c4-.* but this is run another-run/],
        [{ planChecksum: 'b'.repeat(64) }, /for plan 3f2a9c1b7d4e.* but this is plan bbbb/],
        [
          { action: 'approve:engineering-lead' },
          /for action approve:devops, but this is action approve:engineering-lead/,
        ],
        [{ action: 'reject' }, /but this is action reject/],
        [
          { workflowId: 'deploy-production-000000000000' },
          /for workflow deploy-production-3f2a9c1b7d4e/,
        ],
        [{ environment: 'staging' }, /for environment production, but this is environment staging/],
        [
          { namespace: 'prod' },
          /for Temporal namespace default, but this is Temporal namespace prod/,
        ],
        [{ person: 'Carol' }, /for person carol, but this is person Carol/],
      ];
      for (const [expected, reason] of cases)
        expectRefused(signed(), 'other-decision', reason, { expected });
    });

    it('an expired statement, and one issued in the future', () => {
      expectRefused(signed(), 'expired', /expired at 2026-12-01T15:30:00Z/, {
        now: STATEMENT.expiresAt,
      });
      expectRefused(signed(), 'issued-in-the-future', /issued at 2026-12-01T14:30:00Z, after now/, {
        now: STATEMENT.issuedAt - 6 * 60_000,
      });
    });

    it('a replayed nonce', () => {
      expectRefused(
        signed(),
        'replayed',
        /nonce 9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e was already used/,
        {
          seen: [STATEMENT.nonce],
        },
      );
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
