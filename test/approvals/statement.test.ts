import { describe, expect, it } from 'vitest';
import {
  formatStatement,
  parseStatement,
  StatementFormatError,
  type DecisionStatement,
} from '../../src/approvals/statement';

const STATEMENT: DecisionStatement = {
  namespace: 'default',
  environment: 'production',
  workflowId: 'deploy-production-3f2a9c1b7d4e',
  runId: '0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e',
  planChecksum: '3f2a9c1b7d4e'.padEnd(64, '0'),
  action: 'approve:devops',
  person: 'carol',
  reason: 'reviewed the plan',
  issuedAt: Date.parse('2026-12-01T14:30:00Z'),
  expiresAt: Date.parse('2026-12-01T15:30:00Z'),
  nonce: '9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e',
};

const TEXT = `pgshift-statement v1
temporal-namespace: default
environment: production
workflow-id: deploy-production-3f2a9c1b7d4e
run-id: 0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e
plan-checksum: ${STATEMENT.planChecksum}
action: approve:devops
person: carol
reason: reviewed the plan
issued-at: 2026-12-01T14:30:00Z
expires-at: 2026-12-01T15:30:00Z
nonce: 9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e
`;

describe('canonical statement', () => {
  it('is one readable line per field, in a fixed order, ending with a newline', () => {
    expect(formatStatement(STATEMENT)).toBe(TEXT);
    expect(parseStatement(TEXT)).toEqual(STATEMENT);
  });

  it('writes "none" for a run not started yet and a decision without plan, and an empty reason bare', () => {
    const start = {
      ...STATEMENT,
      runId: null,
      planChecksum: null,
      action: 'initiate-rollback' as const,
      reason: '',
    };
    const text = formatStatement(start);
    expect(text).toMatch(/\nrun-id: none\nplan-checksum: none\n/);
    expect(text).toMatch(/\nreason:\n/);
    expect(parseStatement(text)).toEqual(start);
  });

  it.each([
    ['CR line ends', TEXT.replace(/\n/g, '\r\n'), /CR characters/],
    ['no final newline', TEXT.slice(0, -1), /must end with a newline/],
    ['another header', TEXT.replace('v1', 'v2'), /line 1 must read/],
    [
      'a field out of order',
      TEXT.replace(
        /person: carol\nreason: reviewed the plan/,
        'reason: reviewed the plan\nperson: carol',
      ),
      /line 8 must start with "person:"/,
    ],
    ['an extra line', `${TEXT}extra: 1\n`, /expected 12 lines/],
    [
      'two spaces after a colon',
      TEXT.replace('person: carol', 'person:  carol'),
      /person must be one line/,
    ],
    [
      'no space after a colon',
      TEXT.replace('person: carol', 'person:carol'),
      /one space after "person:"/,
    ],
    [
      'a trailing space',
      TEXT.replace('reviewed the plan', 'reviewed the plan '),
      /reason must be one line/,
    ],
    [
      'an abbreviated plan checksum',
      TEXT.replace(STATEMENT.planChecksum!, '3f2a9c1b7d4e'),
      /full sha256/,
    ],
    [
      'an upper-case plan checksum',
      TEXT.replace(STATEMENT.planChecksum!, STATEMENT.planChecksum!.toUpperCase()),
      /full sha256/,
    ],
    ['milliseconds', TEXT.replace('14:30:00Z', '14:30:00.000Z'), /issued-at must read like/],
    [
      'a time zone offset',
      TEXT.replace('15:30:00Z', '15:30:00+01:00'),
      /expires-at must read like/,
    ],
    ['an impossible date', TEXT.replace('2026-12-01T15', '2026-02-30T15'), /not a valid time/],
    [
      'expiry before issue',
      TEXT.replace('expires-at: 2026-12-01T15', 'expires-at: 2026-12-01T13'),
      /after issued-at/,
    ],
    ['an unknown action', TEXT.replace('approve:devops', 'approve-all'), /action "approve-all"/],
    ['a short nonce', TEXT.replace('9b0c4f6e2a1d8c7b5e3f1a0d9c8b7a6e', 'abc'), /nonce/],
  ])('refuses %s', (_what, text, reason) => {
    expect(() => parseStatement(text)).toThrow(StatementFormatError);
    expect(() => parseStatement(text)).toThrow(reason);
  });

  it('refuses to write a statement it could not read back', () => {
    expect(() => formatStatement({ ...STATEMENT, reason: 'two\nlines' })).toThrow(
      /reason must be one line/,
    );
    expect(() => formatStatement({ ...STATEMENT, issuedAt: STATEMENT.issuedAt + 1 })).toThrow(
      /whole second/,
    );
  });
});
