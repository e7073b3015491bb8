import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allowedSignersPath,
  ConfigError,
  environmentConfig,
  loadAllowedSigners,
  loadConfig,
  parseConfig,
  requiresSignatures,
} from '../../src/config';
import { makeKey } from '../approvals/support/ssh-keys';

describe('config: signed approvals', () => {
  it('requires signatures by default for production only, and lets either be changed', () => {
    const config = parseConfig(
      { environments: { staging: { approvals: { requireSignatures: true } }, 'eu-prod': {} } },
      null,
    );
    expect(requiresSignatures(environmentConfig(config, 'production'))).toBe(true);
    expect(requiresSignatures(environmentConfig(config, 'qa'))).toBe(false);
    expect(requiresSignatures(environmentConfig(config, 'staging'))).toBe(true);
    const relaxed = parseConfig(
      { environments: { production: { approvals: { requireSignatures: false } } } },
      null,
    );
    expect(requiresSignatures(environmentConfig(relaxed, 'production'))).toBe(false);
  });

  it('resolves allowedSigners relative to the config file and parses it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-config-'));
    mkdirSync(join(dir, 'keys'));
    const carol = makeKey(join(dir, 'keys'), 'carol');
    writeFileSync(join(dir, 'keys', 'allowed_signers'), `carol ${carol.publicLine}\n`);
    const file = join(dir, 'pgshift.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        environments: { production: { approvals: { allowedSigners: 'keys/allowed_signers' } } },
      }),
    );
    const config = loadConfig({ path: file, cwd: '/' });
    const production = environmentConfig(config, 'production');
    expect(allowedSignersPath(config, production)).toBe(join(dir, 'keys', 'allowed_signers'));
    const { signers } = loadAllowedSigners(config, production);
    expect(signers.map((s) => [s.principals, s.fingerprint])).toEqual([
      [['carol'], carol.fingerprint],
    ]);
  });

  it('names the key and the file:line of a missing or malformed allowed-signers file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-config-'));
    const config = parseConfig(
      { environments: { production: { approvals: { allowedSigners: 'allowed_signers' } } } },
      join(dir, 'pgshift.config.json'),
    );
    const production = environmentConfig(config, 'production');
    expect(() => loadAllowedSigners(config, production)).toThrow(ConfigError);
    expect(() => loadAllowedSigners(config, production)).toThrow(
      /allowed_signers does not exist \(named by environments\.production\.approvals\.allowedSigners\)/,
    );
    writeFileSync(join(dir, 'allowed_signers'), '# approvers\ncarol ssh-ed25519\n');
    expect(() => loadAllowedSigners(config, production)).toThrow(
      /allowed_signers:2: expected a key type and a base64 key[\s\S]*named by environments\.production\.approvals\.allowedSigners/,
    );
  });
});
