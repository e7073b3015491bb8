import { describe, expect, it } from 'vitest';
import { connect } from '../../src/migrations/database';
import { ConnectionError } from '../../src/errors';
import { findFreePort } from '../../src/temporal/free-port';
import { testServerUrl } from '../support/databases';

describe('connecting to the target database', () => {
  it('reports an unreachable server as ConnectionError (exit 3)', async () => {
    const port = await findFreePort();
    const error = await connect(`postgresql://pgshift:secret-pw@127.0.0.1:${port}/app`).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).exitCode).toBe(3);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).not.toContain('secret-pw');
  });

  it('reports a wrong password as ConnectionError without the password', async () => {
    const url = new URL(testServerUrl());
    url.password = 'wrong-password-123';
    const error = await connect(url.toString()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/refused the credentials/);
    expect((error as Error).message).not.toContain('wrong-password-123');
  });
});
