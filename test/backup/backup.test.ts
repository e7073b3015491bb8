import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  rmSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import {
  BackupCancelledError,
  BackupError,
  BackupIntegrityError,
  ToolMissingError,
  createBackup,
  dropPreservedDatabase,
  listBackups,
  preservedDatabaseName,
  restoreBackup,
  verifyBackup,
} from '../../src/backup';
import { setClause } from '../../src/backup/database-properties';
import { ConnectionError } from '../../src/errors';
import { createTestDatabase, query, testServerUrl, withDatabaseName } from '../support/databases';

async function seed(url: string): Promise<void> {
  await query(
    url,
    `CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, region text DEFAULT 'eu');
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), total numeric(10,2));
     CREATE INDEX orders_customer_idx ON orders (customer_id);
     CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
     INSERT INTO customers (email) SELECT 'c' || g || '@example.com' FROM generate_series(1, 200) g;
     INSERT INTO orders (customer_id, total) SELECT (g % 200) + 1, g * 1.5 FROM generate_series(1, 500) g;
     CREATE SCHEMA pgshift;
     CREATE TABLE pgshift.migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
     INSERT INTO pgshift.migrations (version, name) VALUES (1, 'create_customers'), (2, 'create_orders'), (3, 'add_region');`,
  );
}

/** Columns, indexes, views and row contents: what "the exact state" means in these tests. */
async function stateOf(url: string): Promise<unknown> {
  return {
    columns: await query(
      url,
      `SELECT table_schema, table_name, column_name, data_type, column_default, is_nullable
         FROM information_schema.columns WHERE table_schema IN ('public', 'pgshift') ORDER BY 1, 2, column_name`,
    ),
    indexes: await query(
      url,
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname IN ('public', 'pgshift') ORDER BY 1`,
    ),
    views: await query(
      url,
      `SELECT viewname, definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`,
    ),
    customers: await query(url, 'SELECT * FROM customers ORDER BY id'),
    orders: await query(url, 'SELECT count(*)::int AS n, sum(total)::text AS total FROM orders'),
    ledger: await query(
      url,
      'SELECT version, name, applied_at FROM pgshift.migrations ORDER BY version',
    ),
    nextCustomerId: await query(url, `SELECT last_value FROM customers_id_seq`),
  };
}

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

function allPaths(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    return entry.isDirectory() ? [full, ...allPaths(full)] : [full];
  });
}

function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

describe('createBackup', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    url = await createTestDatabase('backup');
    await seed(url);
    dir = mkdtempSync(join(tmpdir(), 'pgshift-backups-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('dumps in directory format with a manifest describing the database and its ledger', async () => {
    const manifest = await createBackup({
      databaseUrl: url,
      dir,
      name: 'wf-1-pre-migrate',
      jobs: 2,
    });
    const parsed = new URL(url);
    expect(manifest).toMatchObject({
      name: 'wf-1-pre-migrate',
      database: parsed.pathname.slice(1),
      host: '127.0.0.1',
      port: Number(parsed.port),
      format: 'directory',
      dumpPath: 'dump',
      migrationState: { currentVersion: 3, count: 3 },
      tableCount: 3,
    });
    expect(manifest.serverVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.pgDumpVersion).toMatch(/^\d+\.\d+/);
    expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.sizeBytes).toBeGreaterThan(0);
    const backupDir = join(dir, 'wf-1-pre-migrate');
    const onDisk = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(manifest);
    const ledger = JSON.parse(readFileSync(join(backupDir, 'migration-state.json'), 'utf8'));
    expect(ledger.map((row: { version: number; name: string }) => [row.version, row.name])).toEqual(
      [
        [1, 'create_customers'],
        [2, 'create_orders'],
        [3, 'add_region'],
      ],
    );
    expect(readFileSync(join(backupDir, 'manifest.json'), 'utf8')).not.toContain(passwordOf(url));
  });

  it('leaves files readable by the owner only', () => {
    const backupDir = join(dir, 'wf-1-pre-migrate');
    expect(modeOf(backupDir)).toBe(0o700);
    for (const path of allPaths(backupDir))
      expect([path, modeOf(path)]).toEqual([path, statSync(path).isDirectory() ? 0o700 : 0o600]);
  });

  it('produces an archive that pg_restore --list reads and the checksum confirms', async () => {
    const verification = await verifyBackup(join(dir, 'wf-1-pre-migrate'));
    expect(verification.entries).toBeGreaterThan(5);
    expect(verification.tableCount).toBe(3);
  });

  it('returns the existing backup for the same name without dumping again', async () => {
    const backupDir = join(dir, 'wf-1-pre-migrate');
    const before = statSync(join(backupDir, 'dump', 'toc.dat')).mtimeMs;
    const first = JSON.parse(readFileSync(join(backupDir, 'manifest.json'), 'utf8'));
    const phases: string[] = [];
    const again = await createBackup({
      databaseUrl: url,
      dir,
      name: 'wf-1-pre-migrate',
      onProgress: (p) => phases.push(p.phase),
    });
    expect(again).toEqual(first);
    expect(phases).toEqual(['reused']);
    expect(statSync(join(backupDir, 'dump', 'toc.dat')).mtimeMs).toBe(before);
  });

  it('removes a partial backup of the same name (no manifest) and dumps again', async () => {
    const backupDir = join(dir, 'wf-2-partial');
    execFileSync('mkdir', ['-p', join(backupDir, 'dump')]);
    writeFileSync(join(backupDir, 'dump', 'junk.dat'), 'half a dump');
    const manifest = await createBackup({ databaseUrl: url, dir, name: 'wf-2-partial' });
    expect(existsSync(join(backupDir, 'dump', 'junk.dat'))).toBe(false);
    expect(manifest.tableCount).toBe(3);
  });

  it('writes a custom-format archive on request', async () => {
    const manifest = await createBackup({
      databaseUrl: url,
      dir,
      name: 'wf-3-custom',
      format: 'custom',
    });
    expect(manifest).toMatchObject({
      format: 'custom',
      dumpPath: 'dump.pgdump',
      jobs: 1,
      tableCount: 3,
    });
    expect(modeOf(join(dir, 'wf-3-custom', 'dump.pgdump'))).toBe(0o600);
    await verifyBackup(join(dir, 'wf-3-custom'));
  });

  it('lists complete backups newest first', async () => {
    const names = (await listBackups(dir)).map((m) => m.name);
    expect(names).toEqual(['wf-3-custom', 'wf-2-partial', 'wf-1-pre-migrate']);
  });

  it('dumps with the requested pg_dump compression level and records it', async () => {
    const manifest = await createBackup({
      databaseUrl: url,
      dir,
      name: 'uncompressed',
      compression: 0,
    });
    expect(manifest.compression).toBe(0);
    const files = readdirSync(join(dir, 'uncompressed', 'dump'));
    expect(files.some((f) => f.endsWith('.dat'))).toBe(true);
    expect(files.some((f) => f.endsWith('.gz'))).toBe(false);
    await expect(verifyBackup(join(dir, 'uncompressed'))).resolves.toMatchObject({ tableCount: 3 });
    await expect(
      createBackup({ databaseUrl: url, dir, name: 'too-compressed', compression: 10 }),
    ).rejects.toThrow(/from 0 \(none\) to 9/);
  });

  it('reports a wrong password as a connection error that does not contain the password', async () => {
    const wrong = new URL(url);
    wrong.password = 'not-the-password-xyz';
    const error = await createBackup({
      databaseUrl: wrong.toString(),
      dir,
      name: 'wf-4-wrong',
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(/refused the credentials/);
    expect(error.message).not.toContain('not-the-password-xyz');
    expect(existsSync(join(dir, 'wf-4-wrong'))).toBe(false);
  });

  it('names what to install when pg_dump is missing', async () => {
    const error = await createBackup({
      databaseUrl: url,
      dir,
      name: 'wf-5-no-tool',
      binDir: '/nonexistent/postgresql/bin',
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ToolMissingError);
    expect(error.nonRetryable).toBe(true);
    expect(error.message).toMatch(/pg_dump \d+ or newer not found.*postgresql-client-\d+/);
    expect(existsSync(join(dir, 'wf-5-no-tool'))).toBe(false);
  });

  it('kills pg_dump (whose command line holds no password) when the abort signal fires, removing partial files', async () => {
    const controller = new AbortController();
    let pid: number | undefined;
    let commandLine: string[] = [];
    const error = await createBackup({
      databaseUrl: url,
      dir,
      name: 'wf-6-aborted',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'dumping' && p.pid && !pid) {
          pid = p.pid;
          commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          controller.abort();
        }
      },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(BackupCancelledError);
    expect(pid).toBeGreaterThan(0);
    expect(() => process.kill(pid!, 0)).toThrow(/ESRCH/);
    expect(commandLine[0]).toMatch(/pg_dump$/);
    expect(commandLine).toContain('-U');
    expect(commandLine.join(' ')).not.toContain(passwordOf(url));
    expect(existsSync(join(dir, 'wf-6-aborted'))).toBe(false);
  });
});

describe('createBackup on a full disk', () => {
  it('fails with a disk-full BackupError and removes the partial files', async () => {
    const url = await createTestDatabase('backup_full');
    await query(
      url,
      `CREATE TABLE blob AS SELECT g, md5(g::text) || md5((g * 7)::text) AS v FROM generate_series(1, 40000) g`,
    );
    const mountPoint = mkdtempSync(join(tmpdir(), 'pgshift-small-disk-'));
    // A 256 KiB tmpfs: the only way to fill a disk for real without filling the machine's.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mountPoint]);
    try {
      const error = await createBackup({
        databaseUrl: url,
        dir: mountPoint,
        name: 'too-big',
      }).catch((e) => e);
      expect(error).toMatchObject({ code: 'BackupError', reason: 'disk-full' });
      expect(error.message).toMatch(/disk full while writing the backup/);
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      execFileSync('umount', [mountPoint]);
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });
});

describe('restoreBackup', () => {
  let url: string;
  let dir: string;
  let original: unknown;
  beforeAll(async () => {
    url = await createTestDatabase('restore');
    await seed(url);
    dir = mkdtempSync(join(tmpdir(), 'pgshift-backups-'));
    original = await stateOf(url);
    await createBackup({ databaseUrl: url, dir, name: 'before-deploy' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brings back the exact schema, data and ledger after destructive changes', async () => {
    await query(
      url,
      `DROP VIEW big_orders; DROP TABLE orders;
       DELETE FROM customers WHERE id > 100; ALTER TABLE customers DROP COLUMN region;
       ALTER TABLE customers ADD COLUMN phone text; INSERT INTO customers (email) VALUES ('new@example.com');
       INSERT INTO pgshift.migrations (version, name) VALUES (4, 'drop_orders');`,
    );
    expect(await query(url, `SELECT to_regclass('orders') AS t`)).toEqual([{ t: null }]);
    const phases = new Set<string>();
    const result = await restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'before-deploy'),
      onProgress: (p) => phases.add(p.phase),
    });
    expect(await stateOf(url)).toEqual(original);
    expect(result).toMatchObject({
      backup: 'before-deploy',
      migrationState: { currentVersion: 3, count: 3 },
    });
    expect(result.tables).toBe(3);
    expect(result.durationMs).toBeGreaterThanOrEqual(result.restoreMs);
    expect([...phases]).toEqual([
      'verifying',
      'creating-database',
      'restoring',
      'swapping',
      'done',
    ]);
  });

  it('quotes database settings as pg_dump does, list parameters item by item', () => {
    expect(setClause('statement_timeout=5s')).toBe(`SET "statement_timeout" TO '5s'`);
    expect(setClause(`search_path=app, "$user", "we,ird", public`)).toBe(
      `SET "search_path" TO 'app', '$user', 'we,ird', 'public'`,
    );
    expect(setClause(`application_name=it's`)).toBe(`SET "application_name" TO 'it''s'`);
  });

  it("keeps the database's own settings, grants, comment and connection limit", async () => {
    const database = databaseOf(url);
    const db = `"${database}"`;
    await query(
      testServerUrl(),
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgshift_test_app') THEN
           CREATE ROLE pgshift_test_app LOGIN;
         END IF;
       END $$`,
    );
    for (const statement of [
      `ALTER DATABASE ${db} SET search_path TO 'app', '$user', 'public'`,
      `ALTER DATABASE ${db} SET statement_timeout TO '5s'`,
      `ALTER ROLE pgshift_test_app IN DATABASE ${db} SET work_mem TO '64MB'`,
      `ALTER DATABASE ${db} CONNECTION LIMIT 50`,
      `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`,
      `GRANT CONNECT ON DATABASE ${db} TO pgshift_test_app WITH GRANT OPTION`,
      `COMMENT ON DATABASE ${db} IS 'churn-saver production, it''s live'`,
    ])
      await query(testServerUrl(), statement);
    const properties = () =>
      query(
        testServerUrl(),
        `SELECT d.datconnlimit, (SELECT array_agg(a ORDER BY a) FROM unnest(d.datacl::text[]) a) AS acl, shobj_description(d.oid, 'pg_database') AS comment,
                (SELECT array_agg(coalesce(r.rolname, '*') || ': ' || array_to_string(s.setconfig, '; ') ORDER BY r.rolname NULLS FIRST)
                   FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
                  WHERE s.setdatabase = d.oid) AS settings
           FROM pg_database d WHERE d.datname = $1`,
        [database],
      );
    const before = await properties();
    expect(before[0]).toMatchObject({
      datconnlimit: 50,
      comment: "churn-saver production, it's live",
      settings: [
        '*: search_path=app, "$user", public; statement_timeout=5s',
        'pgshift_test_app: work_mem=64MB',
      ],
    });
    try {
      const result = await restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before-deploy'),
      });
      expect(result.propertiesNotCopied).toEqual([]);
      expect(await properties()).toEqual(before);
      expect(await stateOf(url)).toEqual(original);
    } finally {
      for (const statement of [
        `ALTER DATABASE ${db} RESET ALL`,
        `ALTER ROLE pgshift_test_app IN DATABASE ${db} RESET ALL`,
        `ALTER DATABASE ${db} CONNECTION LIMIT -1`,
        `REVOKE ALL ON DATABASE ${db} FROM pgshift_test_app CASCADE`,
        `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO PUBLIC`,
        `COMMENT ON DATABASE ${db} IS NULL`,
      ])
        await query(testServerUrl(), statement);
    }
  });

  it('terminates the connections still open on the database it replaces', async () => {
    const { Client } = await import('pg');
    const open = new Client(url);
    open.on('error', () => undefined);
    await open.connect();
    try {
      await restoreBackup({ databaseUrl: url, backupDir: join(dir, 'before-deploy') });
      expect(await stateOf(url)).toEqual(original);
      await expect(open.query('SELECT 1')).rejects.toThrow();
    } finally {
      await open.end().catch(() => undefined);
    }
  });

  it('swaps only after the beforeSwap hook has resolved', async () => {
    await query(url, `INSERT INTO customers (email) VALUES ('before-hook@example.com')`);
    const phases: string[] = [];
    let seenByHook: unknown;
    const result = await restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'before-deploy'),
      onProgress: (p) => phases.push(p.phase),
      beforeSwap: async () => {
        seenByHook = await query(
          url,
          `SELECT count(*)::int AS n FROM customers WHERE email = 'before-hook@example.com'`,
        );
      },
    });
    expect(seenByHook).toEqual([{ n: 1 }]);
    expect(await stateOf(url)).toEqual(original);
    expect(result.waitedBeforeSwapMs).toBeGreaterThanOrEqual(0);
    expect(phases.slice(-3)).toEqual(['waiting-before-swap', 'swapping', 'done']);
  });

  it('leaves the database untouched and drops the scratch database when the beforeSwap hook fails', async () => {
    await query(url, `INSERT INTO customers (email) VALUES ('kept@example.com')`);
    const changed = await stateOf(url);
    const failure = new Error('emergency backup failed');
    await expect(
      restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before-deploy'),
        beforeSwap: () => Promise.reject(failure),
      }),
    ).rejects.toBe(failure);
    expect(await stateOf(url)).toEqual(changed);
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    expect(
      await query(testServerUrl(), `SELECT datname FROM pg_database WHERE datname LIKE $1`, [
        `${database}%`,
      ]),
    ).toEqual([{ datname: database }]);
    await restoreBackup({ databaseUrl: url, backupDir: join(dir, 'before-deploy') });
  });

  it('refuses a corrupt dump and leaves the database untouched', async () => {
    await createBackup({ databaseUrl: url, dir, name: 'to-corrupt' });
    await query(url, `INSERT INTO customers (email) VALUES ('after-backup@example.com')`);
    const dumpDir = join(dir, 'to-corrupt', 'dump');
    const dataFile = readdirSync(dumpDir).find((f) => f.endsWith('.dat.gz'))!;
    const bytes = readFileSync(join(dumpDir, dataFile));
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(join(dumpDir, dataFile), bytes);

    const error = await restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'to-corrupt'),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(BackupIntegrityError);
    expect(error.message).toContain(dataFile);
    expect(error.message).toMatch(/nothing was restored/);
    const rows = await query(
      url,
      `SELECT count(*)::int AS n FROM customers WHERE email = 'after-backup@example.com'`,
    );
    expect(rows).toEqual([{ n: 1 }]);
    await expect(verifyBackup(join(dir, 'to-corrupt'))).rejects.toBeInstanceOf(
      BackupIntegrityError,
    );
    expect(await databasesLike(url)).toEqual([databaseOf(url)]);
  });

  it('refuses a dump whose table of contents was changed before pg_restore runs any of it', async () => {
    await createBackup({ databaseUrl: url, dir, name: 'toc-tampered' });
    const toc = join(dir, 'toc-tampered', 'dump', 'toc.dat');
    const bytes = readFileSync(toc);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(toc, bytes);
    const phases: string[] = [];

    const error = await restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'toc-tampered'),
      onProgress: (p) => phases.push(p.phase),
    }).catch((e) => e);
    expect(error).toBeInstanceOf(BackupIntegrityError);
    expect(error.message).toContain('toc.dat');
    expect(phases).toEqual(['verifying']);
    expect(await databasesLike(url)).toEqual([databaseOf(url)]);
  });

  it('keeps the replaced database, with every write up to the swap, under preserveAs', async () => {
    await restoreBackup({ databaseUrl: url, backupDir: join(dir, 'before-deploy') });
    await query(url, `INSERT INTO customers (email) VALUES ('before-restore@example.com')`);
    const preserveAs = preservedDatabaseName(databaseOf(url), 'incident-42');
    expect(preserveAs).toMatch(/_pre_[0-9a-f]{10}$/);
    const preservedUrl = withDatabaseName(url, preserveAs);
    try {
      const result = await restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before-deploy'),
        preserveAs,
        beforeSwap: () =>
          query(url, `INSERT INTO customers (email) VALUES ('during-restore@example.com')`).then(
            () => undefined,
          ),
      });
      expect(result).toMatchObject({ preservedAs: preserveAs, alreadyRestored: false });
      expect(await stateOf(url)).toEqual(original);
      expect(
        await query(
          preservedUrl,
          `SELECT email FROM customers WHERE email LIKE '%-restore@example.com' ORDER BY email`,
        ),
      ).toEqual([{ email: 'before-restore@example.com' }, { email: 'during-restore@example.com' }]);
      expect(
        await query(
          testServerUrl(),
          `SELECT datname, datallowconn FROM pg_database WHERE datname = ANY($1) ORDER BY 1`,
          [[databaseOf(url), preserveAs]],
        ),
      ).toEqual(
        [databaseOf(url), preserveAs].sort().map((datname) => ({ datname, datallowconn: true })),
      );

      // A retry of the same restore (same preserveAs) finds the swap done and changes nothing.
      await query(url, `INSERT INTO customers (email) VALUES ('after-restore@example.com')`);
      const retry = await restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before-deploy'),
        preserveAs,
      });
      expect(retry).toMatchObject({ preservedAs: preserveAs, alreadyRestored: true });
      expect(
        await query(
          url,
          `SELECT count(*)::int AS n FROM customers WHERE email = 'after-restore@example.com'`,
        ),
      ).toEqual([{ n: 1 }]);
      expect(await dropPreservedDatabase(url, preserveAs)).toBe(true);
      expect(await dropPreservedDatabase(url, preserveAs)).toBe(false);
    } finally {
      await query(testServerUrl(), `DROP DATABASE IF EXISTS "${preserveAs}" WITH (FORCE)`);
    }
  });

  it('opens the database again when a killed attempt left it closed in the middle of its swap', async () => {
    const database = databaseOf(url);
    const preserveAs = preservedDatabaseName(database, 'incident-killed-mid-swap');
    // What a process killed between "ALLOW_CONNECTIONS false" and the renames leaves behind.
    await query(testServerUrl(), `CREATE DATABASE "${database}_pgshift_restore"`);
    await query(testServerUrl(), `ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
    let servedDuringRestore: unknown;
    try {
      await restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before-deploy'),
        preserveAs,
        beforeSwap: async () => {
          servedDuringRestore = await query(url, 'SELECT 1 AS ok');
        },
      });
      expect(servedDuringRestore).toEqual([{ ok: 1 }]);
      expect(await stateOf(url)).toEqual(original);
    } finally {
      await query(testServerUrl(), `ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
      await query(testServerUrl(), `DROP DATABASE IF EXISTS "${preserveAs}" WITH (FORCE)`);
    }
  });

  it('leaves the database untouched and drops its scratch copy when the swap cannot end a session', async () => {
    // A restoring user who owns the database but may not end a superuser's session in it.
    await query(
      testServerUrl(),
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgshift_restorer') THEN
           CREATE ROLE pgshift_restorer LOGIN CREATEDB PASSWORD 'restorer-secret';
         END IF;
       END $$`,
    );
    const owned = await createTestDatabase('restore_owned');
    const name = databaseOf(owned);
    await query(testServerUrl(), `ALTER DATABASE "${name}" OWNER TO pgshift_restorer`);
    const asRestorer = new URL(owned);
    asRestorer.username = 'pgshift_restorer';
    asRestorer.password = 'restorer-secret';
    await query(asRestorer.toString(), 'CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)');
    const ownDir = mkdtempSync(join(tmpdir(), 'pgshift-backups-'));
    await createBackup({ databaseUrl: asRestorer.toString(), dir: ownDir, name: 'owned' });
    await query(asRestorer.toString(), 'INSERT INTO kept VALUES (2)');
    const superuserSession = new Client(owned);
    await superuserSession.connect();
    try {
      const error = await restoreBackup({
        databaseUrl: asRestorer.toString(),
        backupDir: join(ownDir, 'owned'),
        noOwner: true,
      }).catch((e) => e);
      expect(error).toBeInstanceOf(BackupError);
      expect(error.message).toMatch(
        new RegExp(
          `cannot swap the restored copy of backup owned in .*database "${name}" is untouched`,
        ),
      );
      expect(await query(owned, 'SELECT count(*)::int AS n FROM kept')).toEqual([{ n: 2 }]);
      expect(await databasesLike(owned)).toEqual([name]);
    } finally {
      await superuserSession.end();
      rmSync(ownDir, { recursive: true, force: true });
    }
  });

  it('drops the replaced database that a run killed after its swap left aside', async () => {
    const database = databaseOf(url);
    await query(testServerUrl(), `CREATE DATABASE "${database}_pgshift_old"`);
    await restoreBackup({ databaseUrl: url, backupDir: join(dir, 'before-deploy') });
    expect(await stateOf(url)).toEqual(original);
    expect(await databasesLike(url)).toEqual([database]);
  });

  it('drops only databases kept by a restore, never the live one', async () => {
    for (const name of [databaseOf(url), 'postgres', `${databaseOf(url)}_pgshift_restore`])
      await expect(dropPreservedDatabase(url, name)).rejects.toThrow(
        `refusing to drop database "${name}": only a database kept by a restore`,
      );
    expect(await databasesLike(url)).toEqual([databaseOf(url)]);
  });
});

function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The database of `url` and any scratch or preserved database named after it. */
async function databasesLike(url: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    testServerUrl(),
    `SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`,
    [`${databaseOf(url)}%`],
  );
  return rows.map((r) => r.datname);
}
