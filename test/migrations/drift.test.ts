import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseline } from '../../src/migrations/baseline';
import { validateApplied } from '../../src/migrations/drift';
import { DriftError } from '../../src/migrations/errors';
import { loadPlan } from '../../src/migrations/files';
import { readLedger } from '../../src/migrations/ledger';
import { repair } from '../../src/migrations/repair';
import { migrateDown, migrateUp } from '../../src/migrations/runner';
import { readStatus } from '../../src/migrations/status';
import { createTestDatabase } from '../support/databases';
import { ledgerVersions, open, options, tableExists, tablePair, writeMigrations } from './fixtures';

let client: Client;

beforeEach(async () => {
  client = await open(await createTestDatabase('drift'));
});

afterEach(async () => {
  await client.end();
});

function edit(dir: string, file: string): void {
  writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8') + '\n-- edited\n');
}

describe('migrate status', () => {
  it('reads an empty database without creating the ledger', async () => {
    const plan = await loadPlan(writeMigrations([1, 2].map(tablePair)));
    const report = await readStatus(client, plan);
    expect(report).toMatchObject({ currentVersion: 0, applied: [], drifted: [], missingFiles: [] });
    expect(report.pending).toEqual([
      { version: 1, name: 'create_t1' },
      { version: 2, name: 'create_t2' },
    ]);
    expect(await tableExists(client, 'pgshift.migrations')).toBe(false);
  });
});

describe('migrate validate (drift)', () => {
  it('names the edited applied file with expected and actual checksums', async () => {
    const dir = writeMigrations([1, 2, 3].map(tablePair));
    await migrateUp(client, await loadPlan(dir), { ...options(), to: 2 });
    edit(dir, '002_create_t2.sql');
    edit(dir, '003_create_t3.sql'); // pending: not drift
    const plan = await loadPlan(dir);
    const error = await validateApplied(client, plan).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriftError);
    expect((error as DriftError).versions).toEqual([2]);
    expect((error as Error).message).toContain(
      '002_create_t2.sql (version 2) changed after it was applied',
    );
    expect((await readStatus(client, plan)).drifted).toEqual([
      expect.objectContaining({ version: 2, file: '002_create_t2.sql' }),
    ]);
  });

  it('counts an edited rollback file as drift', async () => {
    const dir = writeMigrations([tablePair(1)]);
    await migrateUp(client, await loadPlan(dir), options());
    edit(dir, '001_rollback.sql');
    await expect(validateApplied(client, await loadPlan(dir))).rejects.toThrow(
      /001_rollback.sql \(version 1\) changed/,
    );
  });

  it('reports an applied version whose files are gone', async () => {
    const dir = writeMigrations([1, 2].map(tablePair));
    await migrateUp(client, await loadPlan(dir), options());
    unlinkSync(join(dir, '002_create_t2.sql'));
    unlinkSync(join(dir, '002_rollback.sql'));
    const error = await validateApplied(client, await loadPlan(dir)).catch((e: unknown) => e);
    expect((error as DriftError).versions).toEqual([2]);
    expect((error as Error).message).toContain('version 002 (create_t2) is applied but its files');
  });

  it('makes migrate up refuse to run', async () => {
    const dir = writeMigrations([1, 2].map(tablePair));
    await migrateUp(client, await loadPlan(dir), { ...options(), to: 1 });
    edit(dir, '001_create_t1.sql');
    await expect(migrateUp(client, await loadPlan(dir), options())).rejects.toBeInstanceOf(
      DriftError,
    );
    expect(await ledgerVersions(client)).toEqual([1]);
  });
});

describe('migrate baseline', () => {
  it('records 1..N as applied without running them, once', async () => {
    const plan = await loadPlan(writeMigrations([1, 2, 3].map(tablePair)));
    const recorded = await baseline(client, plan, 2, 'dba');
    expect(recorded.map((e) => [e.version, e.source, e.appliedBy])).toEqual([
      [1, 'baseline', 'dba'],
      [2, 'baseline', 'dba'],
    ]);
    expect(await tableExists(client, 't1')).toBe(false);
    expect(await baseline(client, plan, 2, 'dba')).toEqual([]);
    const up = await migrateUp(client, plan, options());
    expect(up.results.map((r) => r.version)).toEqual([3]);
  });

  it('refuses a version that is not in the plan', async () => {
    const plan = await loadPlan(writeMigrations([tablePair(1)]));
    await expect(baseline(client, plan, 7, 'dba')).rejects.toThrow(/no migration 007/);
  });
});

describe('migrate repair', () => {
  it('accepts an edited applied file and records who and why', async () => {
    const dir = writeMigrations([1, 2].map(tablePair));
    await migrateUp(client, await loadPlan(dir), options());
    edit(dir, '002_rollback.sql');
    const plan = await loadPlan(dir);
    const result = await repair(client, plan, { appliedBy: 'reviewer', reason: 'fixed typo' });
    expect(result.repaired.map((d) => d.file)).toEqual(['002_rollback.sql']);
    await validateApplied(client, plan);
    const ledger = await readLedger(client);
    expect(ledger[1].rollbackChecksum).toBe(plan.migrations[1].rollback.checksum);
    const { rows } = await client.query(
      'SELECT version, file, repaired_by, reason, new_checksum FROM pgshift.repairs',
    );
    expect(rows).toEqual([
      {
        version: 2,
        file: '002_rollback.sql',
        repaired_by: 'reviewer',
        reason: 'fixed typo',
        new_checksum: plan.migrations[1].rollback.checksum,
      },
    ]);
    const down = await migrateDown(client, plan, 0, options());
    expect(down.results.map((r) => r.status)).toEqual(['Success', 'Success']);
  });

  it('repairs only the versions asked for and requires a reason', async () => {
    const dir = writeMigrations([1, 2].map(tablePair));
    await migrateUp(client, await loadPlan(dir), options());
    edit(dir, '001_create_t1.sql');
    edit(dir, '002_create_t2.sql');
    const plan = await loadPlan(dir);
    await expect(repair(client, plan, { appliedBy: 'x', reason: ' ' })).rejects.toThrow(
      /needs a reason/,
    );
    const result = await repair(client, plan, { appliedBy: 'x', reason: 'ok', versions: [1] });
    expect(result.repaired.map((d) => d.version)).toEqual([1]);
    expect((await readStatus(client, plan)).drifted.map((d) => d.version)).toEqual([2]);
  });
});
