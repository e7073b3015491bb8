import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The people of the demo: the approvers on the roster, and erin who starts deploys. */
export const DEMO_PEOPLE = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
export type DemoPerson = (typeof DEMO_PEOPLE)[number];

export interface DemoKeys {
  dir: string;
  /** The allowed-signers file the demo config names (approvals.allowedSigners). */
  allowedSigners: string;
  /** person → private key file (unencrypted: a demo, never a real approver's key). */
  keys: Record<DemoPerson, string>;
}

/** Where the demo's keys live inside the stack's folder. */
export function demoKeysDir(stackDir: string): string {
  return join(stackDir, 'keys');
}

/**
 * One ed25519 key per person, made with `ssh-keygen -t ed25519 -N ''` (as a person would),
 * and the allowed-signers file that lists them under their roster names.
 */
export function createDemoKeys(stackDir: string): DemoKeys {
  const dir = demoKeysDir(stackDir);
  mkdirSync(dir, { recursive: true });
  const keys = {} as Record<DemoPerson, string>;
  const lines: string[] = [];
  for (const person of DEMO_PEOPLE) {
    const path = join(dir, person);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', person, '-f', path], {
      stdio: 'pipe',
    });
    keys[person] = path;
    lines.push(`${person} ${readFileSync(`${path}.pub`, 'utf8').trim()}`);
  }
  const allowedSigners = join(dir, 'allowed_signers');
  writeFileSync(allowedSigners, `${lines.join('\n')}\n`);
  return { dir, allowedSigners, keys };
}
