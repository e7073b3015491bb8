import type { Client } from 'pg';
import { readLedger } from './ledger';
import { highestVersion, pendingMigrations } from './plan';
import type { LedgerEntry, MigrationPlan, StatusReport } from './types';

/** Compares a ledger with a plan: applied, pending, drifted and missing files (pure). */
export function compareLedger(plan: MigrationPlan, ledger: LedgerEntry[]): StatusReport {
  const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
  const drifted: StatusReport['drifted'] = [];
  const missingFiles: number[] = [];
  for (const entry of ledger) {
    const migration = byVersion.get(entry.version);
    if (!migration) {
      missingFiles.push(entry.version);
      continue;
    }
    if (migration.forward.checksum !== entry.forwardChecksum)
      drifted.push({
        version: entry.version,
        name: entry.name,
        file: migration.forward.file,
        expected: entry.forwardChecksum,
        actual: migration.forward.checksum,
      });
    if (migration.rollback.checksum !== entry.rollbackChecksum)
      drifted.push({
        version: entry.version,
        name: entry.name,
        file: migration.rollback.file,
        expected: entry.rollbackChecksum,
        actual: migration.rollback.checksum,
      });
  }
  return {
    currentVersion: highestVersion(ledger),
    applied: ledger,
    pending: pendingMigrations(plan.migrations, ledger).map((m) => ({
      version: m.version,
      name: m.name,
    })),
    missingFiles,
    drifted,
  };
}

/** Reads the ledger (without creating it) and compares it with the plan. */
export async function readStatus(client: Client, plan: MigrationPlan): Promise<StatusReport> {
  return compareLedger(plan, await readLedger(client));
}
