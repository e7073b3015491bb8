import { resolve } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { heartbeatIntervalMs } from '../../activities/heartbeat';
import { parseConfig } from '../../src/config';
import { loadPlan } from '../../src/migrations/files';
import { createTestDatabase, query } from '../support/databases';
import { waitFor } from '../support/wait';

const LONG = resolve(__dirname, '../fixtures/rehearsal-long-statement');

describe('heartbeats of long activities', () => {
  it('beat every third of the heartbeat timeout, at most every 10 s', () => {
    expect(heartbeatIntervalMs(2_000)).toBe(666);
    expect(heartbeatIntervalMs(20_000)).toBe(6_666);
    expect(heartbeatIntervalMs(120_000)).toBe(10_000);
    expect(heartbeatIntervalMs(undefined)).toBe(10_000);
  });

  it('keep beating while one statement runs, and a cancellation stops that statement', async () => {
    const url = await createTestDatabase('heartbeat_cancel');
    const plan = await loadPlan(LONG);
    const activities = createActivities({
      // Not about signed approvals (test/deploy/signed-approvals.test.ts is).
      config: parseConfig(
        { environments: { production: { approvals: { requireSignatures: false } } } },
        null,
      ),
      env: { PRODUCTION_DATABASE_URL: url },
    });
    const environment = new MockActivityEnvironment({ heartbeatTimeoutMs: 600 });
    const beats: unknown[] = [];
    environment.on('heartbeat', (details: unknown) => beats.push(details));
    const started = Date.now();
    const applying = environment.run(activities.applyMigrations, {
      environment: 'production',
      plan,
    });
    applying.catch(() => undefined);
    await waitFor('the 8 s statement to run', async () => {
      const rows = await query<{ n: number }>(
        url,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(8)%' AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      return rows[0].n > 0;
    });
    const beatsAtStart = beats.length;
    await waitFor('three more heartbeats during the statement', async () =>
      beats.length >= beatsAtStart + 3 ? true : undefined,
    );
    environment.cancel();
    await expect(applying).rejects.toThrow(
      /^002_backfill_account_flags.sql: canceling statement due to user request \(SQLSTATE 57014\)/,
    );
    expect(Date.now() - started).toBeLessThan(8_000);
    const ledger = await query<{ version: number }>(
      url,
      'SELECT version FROM pgshift.migrations ORDER BY version',
    );
    expect(ledger.map((r) => r.version)).toEqual([1]);
    expect(beats.at(-1)).toMatchObject({ before: [], progress: { version: 2 } });
  });
});
