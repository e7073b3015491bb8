import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { readAppVersion } from '../../src/app/health';
import { hookEnvironment, runHook } from '../../src/app/hooks';
import { redactSecrets } from '../../src/app/redact';
import { assertAppVersion, isAppVersion } from '../../src/app/version';
import { redactUrl } from '../../src/migrations/database';
import { UsageError } from '../../src/errors';
import { toExecutionError } from '../../src/migrations/sql-error';
import { redactError } from '../../src/temporal/redact-failures';

const NO_ENV = {};

describe('redacting passwords', () => {
  it('removes the password of a URL, also one holding a raw @ or /', () => {
    expect(redactSecrets('postgres://app:s3cr3t@db:5432/app', NO_ENV)).toBe(
      'postgres://app:***@db:5432/app',
    );
    expect(redactSecrets('url postgresql://app:p@ss/w:rd@db.example/app ok', NO_ENV)).toBe(
      'url postgresql://app:***@db.example/app ok',
    );
    expect(redactSecrets('postgres://app@db/app', NO_ENV)).toBe('postgres://app@db/app');
  });

  it('removes ?password= and other secret query parameters', () => {
    expect(
      redactSecrets('postgres://db:5432/app?sslmode=require&password=hunter22&x=1', NO_ENV),
    ).toBe('postgres://db:5432/app?sslmode=require&password=***&x=1');
    expect(redactSecrets('https://hooks.example/x?token=abc123', NO_ENV)).toBe(
      'https://hooks.example/x?token=***',
    );
    expect(redactUrl('postgres://app:pw@db/app?password=hunter22')).toBe(
      'postgres://app:***@db/app?password=***',
    );
  });

  it('removes conninfo password=…, quoted or not, and JSON "password" values', () => {
    expect(redactSecrets('host=db user=app password=hunter22 dbname=app', NO_ENV)).toBe(
      'host=db user=app password=*** dbname=app',
    );
    expect(redactSecrets("host=db password = 'two words' dbname=app", NO_ENV)).toBe(
      'host=db password = *** dbname=app',
    );
    expect(redactSecrets('{"user":"app","password":"hunter22"}', NO_ENV)).toBe(
      '{"user":"app","password":"***"}',
    );
  });

  it('replaces the values of secret variables by their names', () => {
    expect(
      redactSecrets('token is tok-123456', { DEPLOY_TOKEN: 'tok-123456', PATH: '/usr/bin' }),
    ).toBe('token is <DEPLOY_TOKEN>');
  });
});

describe('PostgreSQL row data', () => {
  it('leaves detail and context out of a migration error', () => {
    const error = toExecutionError(
      {
        file: '004_x.sql',
        sql: "INSERT INTO users VALUES ('a@b.c');",
        checksum: '',
        transactional: true,
      } as never,
      undefined,
      {
        code: '23505',
        message: 'duplicate key value violates unique constraint "users_email_key"',
        detail: 'Key (email)=(alice@example.com) already exists.',
        where: 'SQL statement "INSERT INTO users VALUES (\'alice@example.com\')"',
      },
      true,
    );
    expect(error.message).toContain('duplicate key value violates unique constraint');
    expect(error.message).not.toContain('alice@example.com');
    expect(error.message).toContain('detail withheld (it can hold row data)');
  });

  it('drops detail from a failure and redacts its message, details and causes', () => {
    const pgError = Object.assign(new Error('connect to postgres://app:hunter22@db/app failed'), {
      detail: 'Failing row contains (1, alice@example.com).',
    });
    const failure = ApplicationFailure.create({
      message: 'step failed: password=hunter22',
      type: 'X',
      details: [{ url: 'postgres://app:hunter22@db/app' }],
      cause: pgError,
    });
    redactError(failure, NO_ENV);
    const text = JSON.stringify({
      message: failure.message,
      stack: failure.stack,
      details: failure.details,
      cause: failure.cause?.message,
      causeStack: failure.cause?.stack,
      detail: (failure.cause as unknown as { detail?: string }).detail,
    });
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('alice@example.com');
    expect(failure.message).toBe('step failed: password=***');
  });
});

describe('the environment of application hooks', () => {
  const workerEnv = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/pgshift',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    LC_ALL: 'C',
    NODE_OPTIONS: '--max-old-space-size=512',
    PRODUCTION_DATABASE_URL: 'postgres://app:hunter22@db/app',
    TEMPORAL_API_KEY: 'key-123456',
    TEMPORAL_ADDRESS: 'temporal:7233',
    AWS_SECRET_ACCESS_KEY: 'aws-123456',
    PGPASSWORD: 'hunter22',
  };

  it('inherits only an allow-list of the worker environment', () => {
    expect(Object.keys(hookEnvironment(workerEnv)).sort()).toEqual([
      'HOME',
      'LANG',
      'LC_ALL',
      'NODE_OPTIONS',
      'PATH',
      'TZ',
    ]);
  });

  it('gets no database URL and no Temporal credential, only its own env from the config', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      STAGING_DATABASE_URL: 'postgres://app:hunter22@db/app',
      TEMPORAL_API_KEY: 'key-123456',
    });
    try {
      const result = await runHook(
        {
          command: [
            process.execPath,
            '-e',
            'console.log(JSON.stringify(Object.keys(process.env).filter((k) => /DATABASE_URL|TEMPORAL|HOOK_TARGET/.test(k))))',
          ],
          env: { HOOK_TARGET: 'v{version}' },
        },
        { version: '1.2.3' },
      );
      expect(result.ok).toBe(true);
      expect(JSON.parse(result.output.trim())).toEqual(['HOOK_TARGET']);
    } finally {
      for (const key of ['STAGING_DATABASE_URL', 'TEMPORAL_API_KEY'])
        if (saved[key] === undefined) delete process.env[key];
    }
  });
});

describe('application versions', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  async function versionUrlAnswering(body: string): Promise<string> {
    server = createServer((_req, res) => res.end(body));
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/version`;
  }

  it('accepts versions like 2.1.0, v2.1.0-rc.1+build.7 and refuses anything else', () => {
    for (const good of ['2.1.0', 'v2.1.0-rc.1+build.7', 'a', 'x'.repeat(128)])
      expect(isAppVersion(good)).toBe(true);
    for (const bad of ['', '-rf', '../etc', '1.0 && rm', '$(id)', 'x'.repeat(129), '.hidden'])
      expect(isAppVersion(bad)).toBe(false);
    expect(() => assertAppVersion('1.0; rm -rf /', '--app-version')).toThrow(UsageError);
    expect(() => assertAppVersion('1.0; rm -rf /', '--app-version')).toThrow(
      /^--app-version "1.0; rm -rf \/" is not a version/,
    );
  });

  it('refuses a version URL answer that is not a version', async () => {
    expect(await readAppVersion(await versionUrlAnswering('{"version":"2.0.0"}'))).toBe('2.0.0');
    await new Promise<void>((done) => server!.close(() => done()));
    const url = await versionUrlAnswering('{"version":"--exec=/bin/sh"}');
    await expect(readAppVersion(url)).rejects.toThrow(
      /answered "--exec=\/bin\/sh" is not a version/,
    );
  });
});
