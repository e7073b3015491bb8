import type { Client } from 'pg';
import { RollbackFileChangedError, UsageError } from './errors';
import { ensureLedger, readLedger } from './ledger';
import type { MigrationPlan } from './types';

/** An operator's explicit acceptance of rollback files that changed since their migration was applied. */
export interface ChangedRollbackAcceptance {
  reason: string;
  acceptedBy: string;
}

/** A rollback file whose checksum is not the one the ledger recorded at apply time. */
export interface ChangedRollbackFile {
  version: number;
  file: string;
  recorded: string;
  current: string;
}

/** The rollback files (of migrations above `target`) that differ from what the ledger recorded. */
export async function findChangedRollbackFiles(
  client: Client,
  plan: MigrationPlan,
  target: number,
): Promise<ChangedRollbackFile[]> {
  const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
  return (await readLedger(client))
    .filter((entry) => entry.version > target)
    .flatMap((entry) => {
      const migration = byVersion.get(entry.version);
      if (!migration || migration.rollback.checksum === entry.rollbackChecksum) return [];
      return [
        {
          version: entry.version,
          file: migration.rollback.file,
          recorded: entry.rollbackChecksum,
          current: migration.rollback.checksum,
        },
      ];
    });
}

/**
 * Refuses to roll back with a rollback file that differs from the one recorded when its
 * migration was applied (RollbackFileChangedError naming each file and both checksums),
 * unless the operator accepted the change with a reason: the acceptance is then recorded in
 * pgshift.repairs (once per file and checksum). Returns the accepted files.
 */
export async function assertRollbackFilesAsApplied(
  client: Client,
  plan: MigrationPlan,
  target: number,
  acceptance?: ChangedRollbackAcceptance,
): Promise<ChangedRollbackFile[]> {
  const changed = await findChangedRollbackFiles(client, plan, target);
  if (changed.length === 0) return [];
  if (!acceptance)
    throw new RollbackFileChangedError(
      `${changed.length} rollback file(s) differ from the ones recorded when their migrations were applied: ${changed
        .map(
          (c) => `${c.file} (recorded ${c.recorded.slice(0, 12)}, now ${c.current.slice(0, 12)})`,
        )
        .join(
          '; ',
        )}. Roll back with the files as they were applied, or accept the change explicitly with a reason`,
      changed.map((c) => c.file),
    );
  if (!acceptance.reason.trim())
    throw new UsageError('accepting a changed rollback file needs a reason');
  await ensureLedger(client);
  for (const c of changed)
    await client.query(
      `INSERT INTO pgshift.repairs (version, file, old_checksum, new_checksum, repaired_by, reason)
       SELECT $1, $2, $3, $4, $5, $6
        WHERE NOT EXISTS (SELECT 1 FROM pgshift.repairs
                           WHERE version = $1 AND file = $2 AND new_checksum = $4 AND reason = $6)`,
      [
        c.version,
        c.file,
        c.recorded,
        c.current,
        acceptance.acceptedBy,
        `accepted changed rollback file: ${acceptance.reason.trim()}`,
      ],
    );
  return changed;
}
