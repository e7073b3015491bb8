import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors';
import { temporalSettingsFromEnv } from '../../src/temporal/connection';

describe('temporalSettingsFromEnv', () => {
  it('defaults to localhost:7233 and the default namespace without TLS', () => {
    expect(temporalSettingsFromEnv({})).toEqual({
      address: 'localhost:7233',
      namespace: 'default',
    });
  });

  it('turns TLS on with TEMPORAL_API_KEY (Temporal Cloud)', () => {
    const settings = temporalSettingsFromEnv({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: 'key',
    });
    expect(settings).toMatchObject({ namespace: 'ns.acct', apiKey: 'key', tls: true });
  });

  it('reads the mTLS certificate pair from TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-tls-'));
    writeFileSync(join(dir, 'client.pem'), 'CERT');
    writeFileSync(join(dir, 'client.key'), 'KEY');
    const settings = temporalSettingsFromEnv({
      TEMPORAL_TLS_CERT: join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: join(dir, 'client.key'),
    });
    const tls = settings.tls as { clientCertPair: { crt: Buffer; key: Buffer } };
    expect(tls.clientCertPair.crt.toString()).toBe('CERT');
    expect(tls.clientCertPair.key.toString()).toBe('KEY');
  });

  it('refuses a certificate without its key', () => {
    expect(() => temporalSettingsFromEnv({ TEMPORAL_TLS_CERT: '/x.pem' })).toThrow(UsageError);
  });

  it('names an unreadable certificate file', () => {
    expect(() =>
      temporalSettingsFromEnv({ TEMPORAL_TLS_CERT: '/nope.pem', TEMPORAL_TLS_KEY: '/nope.key' }),
    ).toThrow(/TEMPORAL_TLS_CERT=\/nope.pem cannot be read \(ENOENT\)/);
  });
});
