import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowedSigners } from '../../src/approvals/allowed-signers';
import { parseStatement } from '../../src/approvals/statement';
import { verifySignedDecision } from '../../src/approvals/verify-decision';
import { newStatement, signWithSshKeygen, type StatementTarget } from '../../src/cli/signing';
import { UsageError } from '../../src/errors';
import { makeKey, sshKeygenVerify, tempDir, type TestKey } from '../approvals/support/ssh-keys';

const TARGET: StatementTarget = {
  namespace: 'default',
  environment: 'production',
  workflowId: 'deploy-production-3f2a9c1b7d4e',
  runId: '0193a7c4-5b1e-7d2a-9f3e-2c1d0b9a8f7e',
  planChecksum: '3f2a9c1b7d4e'.padEnd(64, '5'),
};

let dir: string;
let carol: TestKey;
let allowedSigners: string;

beforeAll(() => {
  dir = tempDir();
  carol = makeKey(dir, 'carol');
  allowedSigners = join(dir, 'allowed_signers');
  writeFileSync(allowedSigners, `carol ${carol.publicLine}\n`);
});

describe('CLI signing', () => {
  it('builds a statement for the workflow: issued now, valid for --valid-for, with a fresh nonce', () => {
    const now = Date.parse('2026-12-01T14:30:12.345Z');
    const text = newStatement(TARGET, 'approve:devops', ' carol ', ' ok ', {
      now,
      validFor: '30m',
    });
    const statement = parseStatement(text);
    expect(statement).toMatchObject({
      ...TARGET,
      action: 'approve:devops',
      person: 'carol',
      reason: 'ok',
      issuedAt: Date.parse('2026-12-01T14:30:12Z'),
      expiresAt: Date.parse('2026-12-01T15:00:12Z'),
    });
    expect(statement.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(parseStatement(newStatement(TARGET, 'reject', 'carol', 'x')).nonce).not.toBe(
      statement.nonce,
    );
    expect(() => newStatement(TARGET, 'reject', 'carol', 'two\nlines')).toThrow(UsageError);
    expect(() => newStatement(TARGET, 'reject', 'carol', 'x', { validFor: 'soon' })).toThrow(
      /--valid-for/,
    );
  });

  it('signs with --key <private key>: ssh-keygen -Y verify and pgshift both accept it', async () => {
    const statement = newStatement(TARGET, 'approve:devops', 'carol', 'reviewed');
    const signature = await signWithSshKeygen(statement, carol.path);
    expect(sshKeygenVerify(allowedSigners, 'carol', statement, signature)).toBe(true);
    expect(sshKeygenVerify(allowedSigners, 'alice', statement, signature)).toBe(false);
    const { signers } = parseAllowedSigners(`carol ${carol.publicLine}`, allowedSigners);
    const check = verifySignedDecision(
      { statement, signature },
      { ...TARGET, action: 'approve:devops', person: 'carol' },
      signers,
      Date.now(),
    );
    expect(check).toMatchObject({ ok: true, decision: { fingerprint: carol.fingerprint } });
  });

  describe('with the key in ssh-agent', () => {
    let agent: { pid: number; socket: string } | undefined;

    beforeAll(async () => {
      const socket = join(dir, 'agent.sock');
      const child = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
      agent = { pid: child.pid!, socket };
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          execFileSync('ssh-add', ['-q', carol.path], {
            env: { ...process.env, SSH_AUTH_SOCK: socket },
            stdio: 'pipe',
          });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });

    afterAll(() => {
      if (agent) process.kill(agent.pid);
    });

    it('signs with --key <public key> as ssh-keygen does', async () => {
      const statement = newStatement(TARGET, 'reject', 'carol', 'freeze week');
      const previous = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = agent!.socket;
      try {
        const signature = await signWithSshKeygen(statement, `${carol.path}.pub`);
        expect(sshKeygenVerify(allowedSigners, 'carol', statement, signature)).toBe(true);
      } finally {
        if (previous === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = previous;
      }
    });
  });

  it('says what to do when the key is missing or cannot sign', async () => {
    await expect(signWithSshKeygen('x\n', join(dir, 'nope'))).rejects.toThrow(
      /--key .*nope does not exist/,
    );
    const lonePub = join(tempDir(), 'carol.pub'); // no private key beside it
    writeFileSync(lonePub, `${carol.publicLine}\n`);
    await expect(
      signWithSshKeygen('x\n', lonePub, {
        env: { ...process.env, SSH_AUTH_SOCK: join(dir, 'no-agent') },
      }),
    ).rejects.toThrow(
      /ssh-keygen could not sign with .*carol\.pub: No private key found.*ssh-agent/s,
    );
  });
});
