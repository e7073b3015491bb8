import type { Client } from 'pg';
import { UsageError } from './errors';
import { ensureLedger, insertLedgerEntry, readLedger } from './ledger';
import { withAdvisoryLock } from './lock';
import { DEFAULT_RUNNER_OPTIONS, type LedgerEntry, type MigrationPlan } from './types';

/**
 * Adopts an existing database whose schema already contains migrations 1..`version`:
 * records them in the ledger (source 'baseline') without running them. Versions already
 * recorded are left alone, so running it twice changes nothing. Returns the new rows.
 */
export async function baseline(
  client: Client,
  plan: MigrationPlan,
  version: number,
  appliedBy: string,
  lockWaitMs = DEFAULT_RUNNER_OPTIONS.advisoryLockWaitMs,
): Promise<LedgerEntry[]> {
  if (!plan.migrations.some((m) => m.version === version))
    throw new UsageError(
      `cannot baseline at ${version}: there is no migration ${String(version).padStart(3, '0')} in the plan (versions ${plan.migrations[0]?.version ?? '-'}..${plan.migrations.at(-1)?.version ?? '-'})`,
    );
  return withAdvisoryLock(client, lockWaitMs, async () => {
    await ensureLedger(client);
    const recorded = new Set((await readLedger(client)).map((e) => e.version));
    const toRecord = plan.migrations.filter(
      (m) => m.version <= version && !recorded.has(m.version),
    );
    await client.query('BEGIN');
    try {
      for (const migration of toRecord)
        await insertLedgerEntry(client, migration, appliedBy, 0, 'baseline');
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    const inserted = new Set(toRecord.map((m) => m.version));
    return (await readLedger(client)).filter((e) => inserted.has(e.version));
  });
}
