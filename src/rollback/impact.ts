import { escapeIdentifier, type Client } from 'pg';
import { readLedger } from '../migrations/ledger';
import type { MigrationPlan } from '../migrations/types';
import { findDataLosingStatements, type DataLosingStatement } from './data-loss';
import { COUNTED_LOSS_KINDS, losesData } from './describe-loss';

export { describeLoss } from './describe-loss';

export interface RevertedMigration {
  version: number;
  name: string;
  /** The rollback file that would run; absent when the plan has no file for this version. */
  rollbackFile?: string;
}

/** One table or column a rollback would destroy, with how much data is in it now. */
export interface DataLossItem extends DataLosingStatement {
  version: number;
  /** The table (and column) exist now; a DROP … IF EXISTS of an absent object loses nothing. */
  exists: boolean;
  /** Rows (non-null values for a column) that would be lost; null when they could not be counted. */
  rows: number | null;
  /** True when `rows` is the planner's estimate (counting took too long). */
  estimated?: boolean;
}

/** What rolling the database back to `target` would do: the guide's "assess impact and scope". */
export interface RollbackImpact {
  currentVersion: number;
  target: number;
  /** Newest first: the order the rollback files run in. */
  reverted: RevertedMigration[];
  /** Versions above the target that are applied but have no rollback file in the plan. */
  missingRollbackFiles: number[];
  dataLoss: DataLossItem[];
  /** Some table or column that would be destroyed holds data (or could not be counted). */
  losesData: boolean;
}

/** How long counting one table may take before the planner's estimate is used instead. */
const COUNT_TIMEOUT = '5s';

function qualified(item: { schema?: string; table: string }): string {
  return item.schema
    ? `${escapeIdentifier(item.schema)}.${escapeIdentifier(item.table)}`
    : escapeIdentifier(item.table);
}

const COUNTED = new Set<string>(COUNTED_LOSS_KINDS);

async function countLoss(
  client: Client,
  item: DataLosingStatement,
): Promise<Pick<DataLossItem, 'exists' | 'rows' | 'estimated'>> {
  if (item.kind === 'drop-schema') {
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT to_regnamespace($1) IS NOT NULL AS ok`,
      [escapeIdentifier(item.table)],
    );
    return { exists: rows[0].ok, rows: rows[0].ok ? null : 0 };
  }
  if (item.kind === 'drop-type') {
    const name = qualified(item);
    const { rows } = await client.query<{ ok: boolean }>(
      `SELECT to_regtype($1) IS NOT NULL AS ok`,
      [name],
    );
    return { exists: rows[0].ok, rows: rows[0].ok ? null : 0 };
  }
  if (!COUNTED.has(item.kind)) return { exists: true, rows: null };
  const name = qualified(item);
  const { rows: found } = await client.query<{ oid: string | null; has_column: boolean }>(
    `SELECT to_regclass($1)::oid::text AS oid,
            EXISTS (SELECT 1 FROM pg_attribute
                     WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped) AS has_column`,
    [name, item.column ?? ''],
  );
  if (!found[0].oid || (item.column && !found[0].has_column)) return { exists: false, rows: 0 };
  const counted = item.column
    ? `SELECT count(${escapeIdentifier(item.column)})::bigint AS n FROM ${name}`
    : `SELECT count(*)::bigint AS n FROM ${name}`;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL statement_timeout = '${COUNT_TIMEOUT}'`);
    const { rows } = await client.query<{ n: string }>(counted);
    await client.query('COMMIT');
    return { exists: true, rows: Number(rows[0].n) };
  } catch {
    await client.query('ROLLBACK').catch(() => undefined);
    const { rows } = await client
      .query<{ n: string }>(
        `SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = $1::oid`,
        [found[0].oid],
      )
      .catch(() => ({ rows: [] as { n: string }[] }));
    return rows[0]
      ? { exists: true, rows: Number(rows[0].n), estimated: true }
      : { exists: true, rows: null };
  }
}

/**
 * Which applied migrations rolling back to `target` would revert (newest first), and which
 * tables and columns their rollback files would destroy, with the data in them now.
 * Reads only: the ledger, the catalog and row counts.
 */
export async function assessRollbackImpact(
  client: Client,
  plan: MigrationPlan,
  target: number,
): Promise<RollbackImpact> {
  const ledger = await readLedger(client);
  const currentVersion = Math.max(0, ...ledger.map((entry) => entry.version));
  const byVersion = new Map(plan.migrations.map((m) => [m.version, m]));
  const above = ledger
    .filter((entry) => entry.version > target)
    .sort((a, b) => b.version - a.version);
  const reverted: RevertedMigration[] = [];
  const missingRollbackFiles: number[] = [];
  const dataLoss: DataLossItem[] = [];
  for (const entry of above) {
    const migration = byVersion.get(entry.version);
    if (!migration) {
      missingRollbackFiles.push(entry.version);
      reverted.push({ version: entry.version, name: entry.name });
      continue;
    }
    reverted.push({
      version: entry.version,
      name: migration.name,
      rollbackFile: migration.rollback.file,
    });
    for (const statement of await findDataLosingStatements(
      migration.rollback.file,
      migration.rollback.sql,
    ))
      dataLoss.push({
        ...statement,
        version: entry.version,
        ...(await countLoss(client, statement)),
      });
  }
  return {
    currentVersion,
    target,
    reverted,
    missingRollbackFiles,
    dataLoss,
    losesData: dataLoss.some(losesData),
  };
}
