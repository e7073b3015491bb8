import { resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { assertPlanIntegrity } from '../../activities/plan';
import { parseConfig } from '../../src/config';
import { withClient } from '../../src/migrations/database';
import { MigrationFileError, RollbackFileChangedError } from '../../src/migrations/errors';
import { fileChecksum, loadPlan, planChecksum } from '../../src/migrations/files';
import { assertRollbackFilesAsApplied } from '../../src/migrations/rollback-checksum';
import { migrateUp } from '../../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../../src/migrations/types';
import { createTestDatabase, query } from '../support/databases';

const SHIPPED = resolve(__dirname, '../../migrations');

/** A copy of `plan` whose checksum was recomputed after `change`: what a forger would send. */
function forged(plan: MigrationPlan, change: (plan: MigrationPlan) => void): MigrationPlan {
  const copy = structuredClone(plan);
  change(copy);
  copy.checksum = planChecksum(copy.migrations);
  return copy;
}

/** The plan with one rollback file edited (its own checksum updated to match). */
function withEditedRollback(plan: MigrationPlan, version: number): MigrationPlan {
  return forged(plan, (p) => {
    const rollback = p.migrations.find((m) => m.version === version)!.rollback;
    rollback.sql += '\n-- edited after the migration was applied\n';
    rollback.checksum = fileChecksum(Buffer.from(rollback.sql, 'utf8'));
  });
}

let plan: MigrationPlan;
beforeAll(async () => {
  plan = await loadPlan(SHIPPED);
});

describe('flags the worker trusts', () => {
  it('covers transaction and risk flags with the plan checksum', () => {
    const high = plan.migrations.find((m) => m.highRisk)!;
    expect(high).toBeDefined();
    const cleared = structuredClone(plan);
    cleared.migrations.find((m) => m.version === high.version)!.highRisk = false;
    expect(planChecksum(cleared.migrations)).not.toBe(plan.checksum);
  });

  it('refuses a plan whose high-risk flag was cleared, even with a recomputed checksum', async () => {
    const high = plan.migrations.find((m) => m.highRisk)!;
    const tampered = forged(plan, (p) => {
      p.migrations.find((m) => m.version === high.version)!.highRisk = false;
    });
    await expect(assertPlanIntegrity(tampered)).rejects.toThrow(MigrationFileError);
    await expect(assertPlanIntegrity(tampered)).rejects.toThrow(
      new RegExp(
        `migration ${high.version} carries flags tx,tx,- but its files say tx,tx,high-risk`,
      ),
    );
    await expect(assertPlanIntegrity(plan)).resolves.toBeUndefined();
  });

  it('refuses a plan that turns a transactional file into a no-transaction one', async () => {
    const tampered = forged(plan, (p) => {
      p.migrations[0].forward.transactional = false;
    });
    await expect(assertPlanIntegrity(tampered)).rejects.toThrow(
      /carries flags no-tx,.* but its files say tx,/,
    );
  });
});

describe('rollback files as they were applied', () => {
  it('refuses a rollback file whose checksum differs from the one the ledger recorded', async () => {
    const url = await createTestDatabase('rollback_checksum');
    await withClient(url, (c) =>
      migrateUp(c, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test' }),
    );
    const edited = withEditedRollback(plan, 12);
    const error = await withClient(url, (c) => assertRollbackFilesAsApplied(c, edited, 10)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RollbackFileChangedError);
    expect((error as Error).message).toMatch(
      /^1 rollback file\(s\) differ from the ones recorded when their migrations were applied: 012_rollback\.sql \(recorded [0-9a-f]{12}, now [0-9a-f]{12}\)/,
    );
    // Rolling back only below the edited migration is unaffected.
    await expect(
      withClient(url, (c) => assertRollbackFilesAsApplied(c, edited, 12)),
    ).resolves.toEqual([]);
  });

  it('lets an explicit acceptance with a reason through, and records it once', async () => {
    const url = await createTestDatabase('rollback_checksum_accepted');
    await withClient(url, (c) =>
      migrateUp(c, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test' }),
    );
    const edited = withEditedRollback(plan, 12);
    const acceptance = { reason: 'fixed a typo in the DROP', acceptedBy: 'alice' };
    for (let i = 0; i < 2; i++)
      await withClient(url, (c) => assertRollbackFilesAsApplied(c, edited, 10, acceptance));
    const rows = await query<{ file: string; repaired_by: string; reason: string }>(
      url,
      'SELECT file, repaired_by, reason FROM pgshift.repairs',
    );
    expect(rows).toEqual([
      {
        file: '012_rollback.sql',
        repaired_by: 'alice',
        reason: 'accepted changed rollback file: fixed a typo in the DROP',
      },
    ]);
  });

  it('makes the revert activity refuse a changed rollback file and change nothing', async () => {
    const url = await createTestDatabase('rollback_checksum_activity');
    await withClient(url, (c) =>
      migrateUp(c, plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'test' }),
    );
    const activities = createActivities({
      // Not about signed approvals (test/deploy/signed-approvals.test.ts is).
      config: parseConfig(
        { environments: { production: { approvals: { requireSignatures: false } } } },
        null,
      ),
      env: { PRODUCTION_DATABASE_URL: url },
    });
    const edited = withEditedRollback(plan, 12);
    const revert = (extra: object = {}) =>
      new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }).run(activities.revertMigrations, {
        environment: 'production',
        plan: edited,
        target: 11,
        ...extra,
      });
    await expect(revert()).rejects.toThrow(/012_rollback\.sql \(recorded/);
    const ledger = await query<{ v: number }>(
      url,
      'SELECT max(version) AS v FROM pgshift.migrations',
    );
    expect(ledger[0].v).toBe(12);
    const summary = (await revert({
      acceptChangedRollback: { reason: 'reviewed by the DBA', acceptedBy: 'carol' },
    })) as { applied: { version: number }[] };
    expect(summary.applied.map((m) => m.version)).toEqual([12]);
  });
});
