import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigner } from '../../src/approvals/allowed-signers';
import { formatStatement } from '../../src/approvals/statement';
import {
  verifyApprovalSet,
  type ApprovalSetExpectation,
  type ApprovalToVerify,
} from '../../src/approvals/verify-approval-set';
import { makeKey, sshKeygenSign, tempDir, type TestKey } from './support/ssh-keys';

const PLAN = 'd'.repeat(64);
const ISSUED = Date.parse('2026-12-01T14:00:00Z');
const LATER = ISSUED + 5 * 3_600_000; // the statements have expired: the set still stands
const EXPECTED: ApprovalSetExpectation = {
  namespace: 'default',
  environment: 'production',
  workflowId: 'deploy-production-dddddddddddd',
  runId: 'run-1',
  planChecksum: PLAN,
  requiredRoles: ['engineering-lead', 'devops'],
  roster: { 'engineering-lead': ['alice'], devops: ['carol', 'alice'] },
};

const keys: Record<string, TestKey> = {};
let signers: AllowedSigner[];
let nonce = 0;

beforeAll(() => {
  const dir = tempDir();
  for (const name of ['alice', 'carol', 'erin']) keys[name] = makeKey(dir, name);
  signers = parseAllowedSigners(
    Object.entries(keys)
      .map(([name, key]) => `${name} ${key.publicLine}`)
      .join('\n'),
    'allowed_signers',
  ).signers;
});

function approval(
  role: string,
  approver: string,
  options: { signer?: string; runId?: string } = {},
): ApprovalToVerify {
  const statement = formatStatement({
    namespace: 'default',
    environment: 'production',
    workflowId: EXPECTED.workflowId,
    runId: options.runId ?? 'run-1',
    planChecksum: PLAN,
    action: `approve:${role}`,
    person: approver,
    reason: '',
    issuedAt: ISSUED,
    expiresAt: ISSUED + 3_600_000,
    nonce: (++nonce).toString(16).padStart(32, 'e'),
  });
  return {
    role,
    approver,
    statement,
    signature: sshKeygenSign(keys[options.signer ?? approver], statement),
  };
}

describe('verifyApprovalSet (what an activity checks before touching production)', () => {
  it('accepts one valid signature per required role, by distinct allowed keys', () => {
    const check = verifyApprovalSet(
      [approval('engineering-lead', 'alice'), approval('devops', 'carol')],
      EXPECTED,
      signers,
      LATER,
    );
    expect(check).toEqual({
      ok: true,
      signers: [
        { role: 'engineering-lead', approver: 'alice', fingerprint: keys.alice.fingerprint },
        { role: 'devops', approver: 'carol', fingerprint: keys.carol.fingerprint },
      ],
    });
  });

  it('refuses a forged or incomplete set, listing every problem', () => {
    const lead = approval('engineering-lead', 'alice');
    const check = verifyApprovalSet(
      [
        { ...lead, statement: lead.statement!.replace('run-1', 'run-2') }, // edited history
        { role: 'devops', approver: 'carol' }, // unsigned
      ],
      EXPECTED,
      signers,
      LATER,
    );
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.problems).toEqual([
      expect.stringMatching(
        /^role engineering-lead \(alice\): the signature by key .* does not match the statement/,
      ),
      'role devops (carol): unsigned',
    ]);
    expect(verifyApprovalSet([lead], EXPECTED, signers, LATER)).toEqual({
      ok: false,
      problems: ['role devops: no approval'],
    });
  });

  it('refuses approvals of another run, a revoked key, the initiator key, one key twice, and someone off the roster', () => {
    const problems = (
      approvals: ApprovalToVerify[],
      overrides: Partial<ApprovalSetExpectation> = {},
      keysNow = signers,
    ) => {
      const check = verifyApprovalSet(approvals, { ...EXPECTED, ...overrides }, keysNow, LATER);
      return check.ok ? [] : check.problems;
    };
    expect(
      problems([
        approval('engineering-lead', 'alice', { runId: 'run-0' }),
        approval('devops', 'carol'),
      ]),
    ).toEqual([expect.stringMatching(/for run run-0, but this is run run-1/)]);
    const withoutCarol = signers.filter((s) => s.fingerprint !== keys.carol.fingerprint);
    expect(
      problems(
        [approval('engineering-lead', 'alice'), approval('devops', 'carol')],
        {},
        withoutCarol,
      ),
    ).toEqual([
      expect.stringMatching(/role devops \(carol\): key .* is not in the allowed signers/),
    ]);
    expect(
      problems([approval('engineering-lead', 'alice'), approval('devops', 'carol')], {
        initiatorFingerprint: keys.carol.fingerprint,
      }),
    ).toEqual([expect.stringMatching(/signed with the initiator's key/)]);
    expect(problems([approval('engineering-lead', 'alice'), approval('devops', 'alice')])).toEqual([
      expect.stringMatching(/role devops \(alice\): key .* already approved another role/),
    ]);
    expect(problems([approval('engineering-lead', 'alice'), approval('devops', 'erin')])).toEqual([
      'role devops (erin): not on the roster of devops',
    ]);
  });
});
