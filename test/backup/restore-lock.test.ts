import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup';
import { connect } from '../../src/migrations/database';
import { LockTimeoutError } from '../../src/migrations/errors';
import { withAdvisoryLock } from '../../src/migrations/lock';
import { createTestDatabase, query } from '../support/databases';
import { waitFor } from '../support/wait';

/** A session of `url` named like a migration run, holding the migration lock until `release()`. */
async function migrationRunHoldingTheLock(url: string) {
  const session = await connect(url, { application_name: 'pgshift migrate up (test)' });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const done = withAdvisoryLock(session, 0, async () => {
    locked();
    await released;
  }).finally(() => session.end());
  await isLocked;
  return { release: () => (release(), done) };
}

describe('restore and swap take the migration lock', () => {
  let dir: string;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pgshift-restore-lock-'));
    url = await createTestDatabase('restore_lock');
    await query(
      url,
      `CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts VALUES (1), (2);`,
    );
    await createBackup({ databaseUrl: url, dir, name: 'before' });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to restore while a migration run holds the lock, naming it, and leaves the database untouched', async () => {
    await query(url, 'INSERT INTO accounts VALUES (3)');
    const migration = await migrationRunHoldingTheLock(url);
    try {
      const error = await restoreBackup({
        databaseUrl: url,
        backupDir: join(dir, 'before'),
        migrationLockWaitMs: 1500,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as Error).message).toMatch(
        /a migration run holds the pgshift migration lock: pid \d+ \(application_name "pgshift migrate up \(test\)"/,
      );
      expect(await query(url, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 3 }]);
    } finally {
      await migration.release();
    }
  });

  it('waits for a migration run to let go, then restores', async () => {
    const migration = await migrationRunHoldingTheLock(url);
    const phases: string[] = [];
    const restoring = restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'before'),
      migrationLockWaitMs: 60_000,
      onProgress: (p) => phases.push(p.phase),
    });
    await waitFor('the restore to wait for the lock', async () =>
      phases.includes('waiting-for-migration-lock'),
    );
    expect(phases).not.toContain('restoring');
    await migration.release();
    await restoring;
    expect(await query(url, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 2 }]);
  });

  it('holds the lock until its swap, so a migration run is refused with the restore named, and frees it after', async () => {
    await query(url, 'INSERT INTO accounts VALUES (4)');
    let refusal: unknown;
    await restoreBackup({
      databaseUrl: url,
      backupDir: join(dir, 'before'),
      // Just before the swap: the restored copy is ready, the live database still serves.
      beforeSwap: async () => {
        const session = await connect(url);
        try {
          refusal = await withAdvisoryLock(session, 200, async () => 'migrated').catch((e) => e);
        } finally {
          await session.end();
        }
      },
    });
    expect(refusal).toBeInstanceOf(LockTimeoutError);
    expect((refusal as Error).message).toMatch(/application_name "pgshift restore before"/);
    expect(await query(url, 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 2 }]);
    // The restored database that took the name is not locked: the next migration run proceeds.
    const session = await connect(url);
    try {
      expect(await withAdvisoryLock(session, 0, async () => 'migrated')).toBe('migrated');
    } finally {
      await session.end();
    }
  });
});
