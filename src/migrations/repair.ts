import type { Client } from 'pg';
import { UsageError } from './errors';
import { ensureLedger, readLedger } from './ledger';
import { withAdvisoryLock } from './lock';
import { compareLedger } from './status';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan, type StatusReport } from './types';

export interface RepairResult {
  /** Files whose ledger checksum was replaced by the file's current checksum. */
  repaired: StatusReport['drifted'];
  /** Applied versions without files: repair does not touch them (restore the files). */
  missingFiles: number[];
}

/**
 * Accepts intentional edits of applied files after review: replaces the ledger checksum of
 * every drifted file (or only `versions`) with the file's current one and records who did it
 * and why in pgshift.repairs, in one transaction.
 */
export async function repair(
  client: Client,
  plan: MigrationPlan,
  opts: { appliedBy: string; reason: string; versions?: number[]; lockWaitMs?: number },
): Promise<RepairResult> {
  if (!opts.reason?.trim())
    throw new UsageError('repair needs a reason: pass --reason "why the applied file was edited"');
  return withAdvisoryLock(
    client,
    opts.lockWaitMs ?? DEFAULT_RUNNER_OPTIONS.advisoryLockWaitMs,
    async () => {
      await ensureLedger(client);
      const report = compareLedger(plan, await readLedger(client));
      const wanted = opts.versions ? new Set(opts.versions) : undefined;
      const repaired = report.drifted.filter((d) => !wanted || wanted.has(d.version));
      const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
      await client.query('BEGIN');
      try {
        for (const drift of repaired) {
          const migration = byVersion.get(drift.version)!;
          const column =
            drift.file === migration.forward.file ? 'forward_checksum' : 'rollback_checksum';
          await client.query(`UPDATE pgshift.migrations SET ${column} = $2 WHERE version = $1`, [
            drift.version,
            drift.actual,
          ]);
          await client.query(
            `INSERT INTO pgshift.repairs (version, file, old_checksum, new_checksum, repaired_by, reason)
             VALUES ($1, $2, $3, $4, $5, $6)`,
            [drift.version, drift.file, drift.expected, drift.actual, opts.appliedBy, opts.reason],
          );
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      return { repaired, missingFiles: report.missingFiles };
    },
  );
}
