import { describe, expect, it } from 'vitest';
import {
  evaluateApproval,
  evaluateRejection,
  evaluateRollbackApproval,
  initialApprovalState,
  isFullyApproved,
  missingRoles,
  requiredRolesFor,
  type ApprovalContext,
} from '../../workflows/approval-policy';
import type { ApprovalState } from '../../workflows/definitions';

const PLAN = 'a'.repeat(40) + 'b'.repeat(24);
const START = Date.parse('2025-03-01T09:00:00Z');
const ROLES = ['engineering-lead', 'product-owner', 'devops'];

function context(overrides: Partial<ApprovalContext> = {}): ApprovalContext {
  return {
    now: START + 60_000,
    initiator: 'erin',
    planChecksum: PLAN,
    roster: {
      'engineering-lead': ['alice'],
      'product-owner': ['bob'],
      devops: ['carol', 'alice'],
      executive: ['dave'],
    },
    requiredRoles: ROLES,
    expiresAt: START + 24 * 3_600_000,
    ...overrides,
  };
}

function fresh(): ApprovalState {
  return initialApprovalState(ROLES, START + 24 * 3_600_000);
}

/** Applies approvals in order, expecting each to be accepted. */
function approved(...approvals: [role: string, approver: string][]): ApprovalState {
  let state = fresh();
  for (const [role, approver] of approvals) {
    const decision = evaluateApproval(state, { role, approver }, context());
    expect(decision.accepted).toBe(true);
    state = decision.state;
  }
  return state;
}

function expectRefused(
  state: ApprovalState,
  payload: unknown,
  reason: RegExp,
  ctx: ApprovalContext = context(),
): ApprovalState {
  const decision = evaluateApproval(state, payload, ctx);
  expect(decision.accepted).toBe(false);
  if (decision.accepted) throw new Error('unreachable');
  expect(decision.reason).toMatch(reason);
  expect(decision.state.granted).toEqual(state.granted);
  expect(decision.state.refused).toHaveLength(state.refused.length + 1);
  expect(decision.state.refused.at(-1)?.reason).toBe(decision.reason);
  return decision.state;
}

describe('approval policy', () => {
  it('counts one approval per required role and reports what is missing', () => {
    const state = approved(['engineering-lead', 'alice'], ['product-owner', 'bob']);
    expect(state.granted.map((g) => g.role)).toEqual(['engineering-lead', 'product-owner']);
    expect(state.granted[0]).toMatchObject({ approver: 'alice', at: '2025-03-01T09:01:00.000Z' });
    expect(missingRoles(state)).toEqual(['devops']);
    expect(state.missing).toEqual(['devops']);
    expect(isFullyApproved(state)).toBe(false);
    expect(
      isFullyApproved(
        approved(['engineering-lead', 'alice'], ['product-owner', 'bob'], ['devops', 'carol']),
      ),
    ).toBe(true);
  });

  it('keeps the comment and accepts a matching plan checksum prefix', () => {
    const decision = evaluateApproval(
      fresh(),
      {
        role: 'devops',
        approver: 'carol',
        comment: 'backups checked',
        planChecksum: PLAN.slice(0, 12),
      },
      context(),
    );
    expect(decision.accepted).toBe(true);
    expect(decision.state.granted[0].comment).toBe('backups checked');
  });

  it('refuses a malformed payload and records it', () => {
    const state = expectRefused(fresh(), { role: 'devops' }, /malformed payload \(approver: /);
    expect(state.refused[0].summary).toMatch(/^malformed payload/);
    expectRefused(fresh(), 'approve please', /malformed payload/);
    expectRefused(fresh(), { role: 'devops', approver: '   ' }, /approver: expected a name/);
  });

  it('refuses an unknown role', () => {
    expectRefused(
      fresh(),
      { role: 'intern', approver: 'alice' },
      /unknown role "intern": this deploy needs engineering-lead, product-owner, devops/,
    );
  });

  it('refuses a high-risk role the deploy does not need', () => {
    expectRefused(fresh(), { role: 'executive', approver: 'dave' }, /unknown role "executive"/);
  });

  it('refuses an approver who is not on the role roster', () => {
    const state = expectRefused(
      fresh(),
      { role: 'devops', approver: 'mallory' },
      /mallory is not on the roster of "devops" \(carol, alice\)/,
    );
    expect(state.refused[0]).toMatchObject({
      role: 'devops',
      approver: 'mallory',
      summary: 'devops by mallory',
    });
  });

  it('refuses a role that nobody holds, naming the roster key to fill', () => {
    expectRefused(
      fresh(),
      { role: 'devops', approver: 'carol' },
      /approvals\.roster\.devops/,
      context({ roster: {} }),
    );
  });

  it('opens a role to anyone when its roster is "*"', () => {
    const decision = evaluateApproval(
      fresh(),
      { role: 'devops', approver: 'zoe' },
      context({ roster: { devops: ['*'] } }),
    );
    expect(decision.accepted).toBe(true);
  });

  it('refuses one person approving two roles', () => {
    const state = approved(['engineering-lead', 'alice']);
    expectRefused(
      state,
      { role: 'devops', approver: 'Alice' },
      /alice already approved as "engineering-lead"|Alice already approved as "engineering-lead"/,
    );
  });

  it('refuses a second approval of the same role', () => {
    const state = approved(['devops', 'carol']);
    expectRefused(
      state,
      { role: 'devops', approver: 'alice' },
      /role "devops" was already approved by carol/,
    );
  });

  it('refuses the initiator approving their own deploy', () => {
    expectRefused(
      fresh(),
      { role: 'engineering-lead', approver: 'alice' },
      /alice started this deploy and may not approve it/,
      context({ initiator: 'alice' }),
    );
  });

  it('lets the initiator approve when the config allows it', () => {
    const decision = evaluateApproval(
      fresh(),
      { role: 'engineering-lead', approver: 'alice' },
      context({ initiator: 'alice', allowInitiator: true }),
    );
    expect(decision.accepted).toBe(true);
  });

  it('refuses an approval naming another plan', () => {
    expectRefused(
      fresh(),
      { role: 'devops', approver: 'carol', planChecksum: 'c'.repeat(64) },
      /names plan cccccccccccc but this deploy applies plan aaaaaaaaaaaa/,
    );
  });

  it('refuses an approval after expiry', () => {
    expectRefused(
      fresh(),
      { role: 'devops', approver: 'carol' },
      /approval window closed at 2025-03-02T09:00:00.000Z/,
      context({ now: START + 24 * 3_600_000 }),
    );
  });

  it('refuses an approval after a rejection', () => {
    const rejection = evaluateRejection(
      approved(['devops', 'carol']),
      { approver: 'bob', reason: 'not this week' },
      context(),
    );
    expect(rejection.accepted).toBe(true);
    expect(rejection.state.rejected).toMatchObject({ approver: 'bob', reason: 'not this week' });
    expect(isFullyApproved(rejection.state)).toBe(false);
    expectRefused(
      rejection.state,
      { role: 'product-owner', approver: 'bob' },
      /already rejected by bob \(not this week\)/,
    );
  });

  it('never counts refused attempts', () => {
    let state = fresh();
    for (const payload of [
      { role: 'devops', approver: 'mallory' },
      { role: 'devops' },
      { role: 'x', approver: 'alice' },
    ])
      state = evaluateApproval(state, payload, context()).state;
    expect(state.granted).toEqual([]);
    expect(state.refused).toHaveLength(3);
    expect(missingRoles(state)).toEqual(ROLES);
  });

  it('is deterministic: the same inputs give the same state', () => {
    const a = evaluateApproval(fresh(), { role: 'devops', approver: 'carol' }, context());
    const b = evaluateApproval(fresh(), { role: 'devops', approver: 'carol' }, context());
    expect(a).toEqual(b);
  });
});

describe('rejections', () => {
  it('refuses a rejection from someone holding no required role', () => {
    const decision = evaluateRejection(fresh(), { approver: 'mallory', reason: 'no' }, context());
    expect(decision).toMatchObject({ accepted: false });
    expect(decision.state.refused[0].reason).toMatch(/mallory holds none of the roles/);
  });

  it('refuses a rejection without a reason', () => {
    const decision = evaluateRejection(fresh(), { approver: 'bob', reason: '' }, context());
    expect(decision.accepted).toBe(false);
    expect(decision.state.refused[0].reason).toMatch(/a rejection needs a reason/);
  });

  it('lets the initiator withdraw their own deploy', () => {
    expect(
      evaluateRejection(fresh(), { approver: 'erin', reason: 'wrong plan' }, context()).accepted,
    ).toBe(true);
  });
});

describe('required roles', () => {
  const policy = { requiredRoles: ROLES, highRiskRoles: ['executive'] };
  it('needs the guide roles for a normal change', () => {
    expect(requiredRolesFor(policy, { highRisk: false })).toEqual(ROLES);
  });
  it('adds executive approval for a high-risk change', () => {
    expect(requiredRolesFor(policy, { highRisk: true })).toEqual([...ROLES, 'executive']);
  });
});

describe('emergency rollback approval', () => {
  const rollbackContext = {
    now: START,
    initiator: 'carol',
    expiresAt: START + 3_600_000,
    approvers: ['alice', 'dave'],
  };
  const state = () => initialApprovalState(['emergency-approver'], START + 3_600_000);

  it('accepts one approver from the list', () => {
    const decision = evaluateRollbackApproval(
      state(),
      { approver: 'dave', comment: 'go' },
      rollbackContext,
    );
    expect(decision.accepted).toBe(true);
    expect(missingRoles(decision.state)).toEqual([]);
  });

  it('refuses the on-call engineer approving their own rollback and strangers', () => {
    const own = evaluateRollbackApproval(
      state(),
      { approver: 'carol' },
      { ...rollbackContext, approvers: ['carol', 'dave'] },
    );
    expect(own).toMatchObject({ accepted: false });
    const stranger = evaluateRollbackApproval(state(), { approver: 'mallory' }, rollbackContext);
    expect(stranger).toMatchObject({ accepted: false });
    expect(stranger.state.refused[0].reason).toMatch(/not on the roster/);
  });

  it('refuses a malformed rollback approval', () => {
    const decision = evaluateRollbackApproval(state(), { who: 'dave' }, rollbackContext);
    expect(decision.accepted).toBe(false);
    expect(decision.state.refused[0].reason).toMatch(/malformed payload \(approver:/);
  });
});
