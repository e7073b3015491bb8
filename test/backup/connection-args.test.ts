import { describe, expect, it } from 'vitest';
import { toolConnection } from '../../src/backup/connection-args';
import { parseToolVersion } from '../../src/backup/pg-tools';

describe('toolConnection', () => {
  it('passes host, port, user and database as arguments and the password only through the environment', () => {
    const conn = toolConnection(
      'postgresql://app%40corp:s3cr%2Ft@db.internal:6543/shop?sslmode=require',
    );
    expect(conn.args).toEqual(['-h', 'db.internal', '-p', '6543', '-U', 'app@corp', '-d', 'shop']);
    expect(conn.env).toEqual({ PGPASSWORD: 's3cr/t', PGSSLMODE: 'require' });
    expect(conn.args.join(' ')).not.toContain('s3cr');
  });

  it('uses the database override and defaults the port', () => {
    expect(toolConnection('postgres://u@h/db', 'scratch').args).toEqual([
      '-h',
      'h',
      '-p',
      '5432',
      '-U',
      'u',
      '-d',
      'scratch',
    ]);
  });

  it('refuses a URL that is not postgresql://', () => {
    expect(() => toolConnection('mysql://u:p@h/db')).toThrow(/must start with postgresql:\/\//);
  });
});

describe('parseToolVersion', () => {
  it('reads the major version of Debian and plain builds', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).toEqual({
      version: '15.18',
      major: 15,
    });
    expect(parseToolVersion('pg_restore (PostgreSQL) 17.2')).toEqual({
      version: '17.2',
      major: 17,
    });
    expect(parseToolVersion('something else')).toBeUndefined();
  });
});
