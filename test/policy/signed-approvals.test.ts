import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners, type AllowedSigner } from '../../src/approvals/allowed-signers';
import { formatStatement, type DecisionAction } from '../../src/approvals/statement';
import {
  evaluateApproval,
  evaluateRejection,
  evaluateRollbackApproval,
  initialApprovalState,
  isFullyApproved,
  revokeStaleGrants,
  type ApprovalContext,
  type SignatureContext,
} from '../../workflows/approval-policy';
import type { ApprovalState } from '../../workflows/definitions';
import { makeKey, sshKeygenSign, tempDir, type TestKey } from '../approvals/support/ssh-keys';

const PLAN = 'a'.repeat(40) + 'b'.repeat(24);
const START = Date.parse('2026-12-01T14:00:00Z');
const ROLES = ['engineering-lead', 'product-owner', 'devops'];
const RUN = '0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e';

const keys: Record<string, TestKey> = {};
let signers: AllowedSigner[];
let nonce = 0;

beforeAll(() => {
  const dir = tempDir();
  for (const name of ['alice', 'bob', 'carol', 'erin']) keys[name] = makeKey(dir, name);
  // carol also holds alice's old laptop key
  signers = parseAllowedSigners(
    [
      ...Object.entries(keys).map(([name, key]) => `${name} ${key.publicLine}`),
      `carol ${keys.alice.publicLine}`,
    ].join('\n'),
    'allowed_signers',
  ).signers;
});

function signatures(overrides: Partial<SignatureContext> = {}): SignatureContext {
  return {
    required: true,
    allowedSigners: signers,
    namespace: 'default',
    environment: 'production',
    workflowId: 'deploy-production-aaaaaaaaaaaa',
    runId: RUN,
    ...overrides,
  };
}

function context(overrides: Partial<ApprovalContext> = {}): ApprovalContext {
  return {
    now: START + 60_000,
    initiator: 'erin',
    planChecksum: PLAN,
    roster: { 'engineering-lead': ['alice'], 'product-owner': ['bob'], devops: ['carol', 'alice'] },
    requiredRoles: ROLES,
    expiresAt: START + 24 * 3_600_000,
    signatures: signatures(),
    ...overrides,
  };
}

/** A statement for this deploy, signed by `signer` (default: the person) with ssh-keygen. */
function sign(
  action: DecisionAction,
  person: string,
  options: { signer?: string; reason?: string; runId?: string; nonce?: string } = {},
) {
  const statement = formatStatement({
    namespace: 'default',
    environment: 'production',
    workflowId: 'deploy-production-aaaaaaaaaaaa',
    runId: options.runId ?? RUN,
    planChecksum: PLAN,
    action,
    person,
    reason: options.reason ?? '',
    issuedAt: START,
    expiresAt: START + 3_600_000,
    nonce: options.nonce ?? (++nonce).toString(16).padStart(32, '0'),
  });
  return { statement, signature: sshKeygenSign(keys[options.signer ?? person], statement) };
}

function approve(
  state: ApprovalState,
  role: string,
  approver: string,
  extra: object = {},
  ctx = context(),
) {
  return evaluateApproval(
    state,
    { role, approver, ...sign(`approve:${role}`, approver), ...extra },
    ctx,
  );
}

function fresh(): ApprovalState {
  return initialApprovalState(ROLES, START + 24 * 3_600_000);
}

describe('signed approvals', () => {
  it('count when verified, recording the key fingerprint, nonce and statement', () => {
    let state = fresh();
    for (const [role, person] of [
      ['engineering-lead', 'alice'],
      ['product-owner', 'bob'],
      ['devops', 'carol'],
    ]) {
      const decision = approve(state, role, person);
      expect(decision).toMatchObject({ accepted: true });
      state = decision.state;
    }
    expect(isFullyApproved(state)).toBe(true);
    expect(state.granted[2]).toMatchObject({
      role: 'devops',
      approver: 'carol',
      fingerprint: keys.carol.fingerprint,
      nonce: expect.stringMatching(/^0+\w+$/),
      statement: expect.stringContaining('action: approve:devops'),
      signature: expect.stringContaining('BEGIN SSH SIGNATURE'),
    });
  });

  it('keep the signed reason as the comment, and refuse a payload comment that differs', () => {
    const signed = sign('approve:devops', 'carol', { reason: 'looks good' });
    const ok = evaluateApproval(
      fresh(),
      { role: 'devops', approver: 'carol', ...signed },
      context(),
    );
    expect(ok.accepted && ok.state.granted[0].comment).toBe('looks good');
    const differs = evaluateApproval(
      fresh(),
      {
        role: 'devops',
        approver: 'carol',
        comment: 'ship it',
        ...sign('approve:devops', 'carol', { reason: 'looks good' }),
      },
      context(),
    );
    expect(differs).toMatchObject({
      accepted: false,
      reason: expect.stringMatching(/comment differs/),
    });
  });

  describe('are refused and recorded, never counted', () => {
    function expectRefused(decision: ReturnType<typeof evaluateApproval>, reason: RegExp) {
      expect(decision.accepted).toBe(false);
      if (decision.accepted) throw new Error('unreachable');
      expect(decision.reason).toMatch(reason);
      expect(decision.state.refused.at(-1)?.reason).toBe(decision.reason);
      return decision.state;
    }

    it('an unsigned approval where signatures are required', () => {
      expectRefused(
        evaluateApproval(fresh(), { role: 'devops', approver: 'carol' }, context()),
        /unsigned approve:devops: this environment requires a signed statement/,
      );
    });

    it('a statement for another role, or another run', () => {
      const forDevops = sign('approve:devops', 'alice');
      expectRefused(
        evaluateApproval(
          fresh(),
          { role: 'engineering-lead', approver: 'alice', ...forDevops },
          context(),
        ),
        /for action approve:devops, but this is action approve:engineering-lead/,
      );
      expectRefused(
        approve(
          fresh(),
          'devops',
          'carol',
          sign('approve:devops', 'carol', { runId: 'an-earlier-run' }),
        ),
        /for run an-earlier-run, but this is run/,
      );
    });

    it('a key signing for a person it does not belong to (a forged name)', () => {
      const state = expectRefused(
        approve(
          fresh(),
          'product-owner',
          'bob',
          sign('approve:product-owner', 'bob', { signer: 'erin' }),
        ),
        /key .* is allowed for erin, not for bob/,
      );
      expect(state.refused.at(-1)?.fingerprint).toBe(keys.erin.fingerprint);
    });

    it('a replayed statement', () => {
      const signed = sign('approve:engineering-lead', 'alice');
      const first = evaluateApproval(
        fresh(),
        { role: 'engineering-lead', approver: 'alice', ...signed },
        context(),
      );
      expect(first.accepted).toBe(true);
      const rejected = evaluateRejection(
        first.state,
        {
          approver: 'bob',
          reason: 'no',
          ...sign('reject', 'bob', { reason: 'no', nonce: first.state.granted[0].nonce }),
        },
        context(),
      );
      expect(rejected).toMatchObject({
        accepted: false,
        reason: expect.stringMatching(/was already used/),
      });
    });

    it("the initiator's key, when the start was signed, whatever name the approval gives", () => {
      const ctx = context({
        signatures: signatures({ initiatorFingerprint: keys.alice.fingerprint }),
      });
      // carol's allowed-signers line also lists the key alice started the deploy with
      expectRefused(
        approve(
          fresh(),
          'devops',
          'carol',
          sign('approve:devops', 'carol', { signer: 'alice' }),
          ctx,
        ),
        /the key that started this deploy: the initiator may not approve it/,
      );
    });

    it('one key approving two roles', () => {
      const first = approve(fresh(), 'engineering-lead', 'alice');
      expect(first.accepted).toBe(true);
      expectRefused(
        approve(
          first.state,
          'devops',
          'carol',
          sign('approve:devops', 'carol', { signer: 'alice' }),
        ),
        /key .* already approved as "engineering-lead" \(alice\): each role needs a different person's key/,
      );
    });

    it('a rejection whose reason is not the signed one', () => {
      const decision = evaluateRejection(
        fresh(),
        { approver: 'bob', reason: 'freeze', ...sign('reject', 'bob', { reason: 'freeze week' }) },
        context(),
      );
      expect(decision).toMatchObject({
        accepted: false,
        reason: expect.stringMatching(/reason differs/),
      });
    });
  });

  it('accept a signed rejection and a signed rollback approval', () => {
    const rejected = evaluateRejection(
      fresh(),
      {
        approver: 'bob',
        reason: 'freeze week',
        ...sign('reject', 'bob', { reason: 'freeze week' }),
      },
      context(),
    );
    expect(rejected.accepted && rejected.state.rejected).toMatchObject({
      approver: 'bob',
      fingerprint: keys.bob.fingerprint,
    });

    const rollback = evaluateRollbackApproval(
      initialApprovalState(['emergency-approver'], START + 3_600_000),
      { approver: 'carol', ...sign('rollback-approve', 'carol') },
      {
        now: START + 60_000,
        initiator: 'erin',
        expiresAt: START + 3_600_000,
        approvers: ['carol'],
        planChecksum: PLAN,
        signatures: signatures(),
      },
    );
    expect(rollback).toMatchObject({ accepted: true });
  });

  it('stay optional when signatures are not required, but a bad signature is still refused', () => {
    const ctx = context({ signatures: signatures({ required: false }) });
    expect(evaluateApproval(fresh(), { role: 'devops', approver: 'carol' }, ctx).accepted).toBe(
      true,
    );
    const forged = {
      ...sign('approve:devops', 'carol'),
      statement: sign('approve:devops', 'alice').statement,
    };
    expect(
      evaluateApproval(fresh(), { role: 'devops', approver: 'carol', ...forged }, ctx).accepted,
    ).toBe(false);
  });

  it('stop counting when their key is removed from the allowed signers', () => {
    let state = approve(fresh(), 'engineering-lead', 'alice').state;
    state = approve(state, 'product-owner', 'bob').state;
    const withoutBob = signers.filter((s) => s.fingerprint !== keys.bob.fingerprint);
    const { state: after, revoked } = revokeStaleGrants(state, {
      now: START + 120_000,
      signatures: signatures({ allowedSigners: withoutBob }),
    });
    expect(revoked).toEqual(['product-owner']);
    expect(after.granted.map((g) => g.role)).toEqual(['engineering-lead']);
    expect(after.missing).toEqual(['product-owner', 'devops']);
    expect(after.refused.at(-1)).toMatchObject({
      summary: 'product-owner by bob',
      reason: expect.stringMatching(/revoked: key .* of bob is no longer in the allowed signers/),
      fingerprint: keys.bob.fingerprint,
    });
  });
});
