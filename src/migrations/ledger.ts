import { escapeLiteral, type Client } from 'pg';
import type { LedgerEntry, Migration } from './types';
import { BLOCKER_GUARD_FUNCTION_SQL } from './lock-wait';

/** Schema and tables of the ledger. */
export const LEDGER_SCHEMA = 'pgshift';
export const LEDGER_TABLE = 'pgshift.migrations';
export const REPAIRS_TABLE = 'pgshift.repairs';

/** What names a migration in the ledger: its version, name and the checksums of its two files. */
const MIGRATION_COLUMNS = `
  version integer PRIMARY KEY,
  name text NOT NULL,
  forward_checksum text NOT NULL,
  rollback_checksum text NOT NULL`;

/** What names an action on a migration file: a row of its own, the version and the file. */
const FILE_ACTION_COLUMNS = `
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version integer NOT NULL,
  file text NOT NULL`;

const CREATE_LEDGER = `
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.migrations (${MIGRATION_COLUMNS},
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL,
  duration_ms integer NOT NULL,
  source text NOT NULL DEFAULT 'migrate'
);
CREATE TABLE IF NOT EXISTS pgshift.repairs (${FILE_ACTION_COLUMNS},
  old_checksum text NOT NULL,
  new_checksum text NOT NULL,
  repaired_at timestamptz NOT NULL DEFAULT now(),
  repaired_by text NOT NULL,
  reason text NOT NULL
);
CREATE TABLE IF NOT EXISTS pgshift.started_migrations (${MIGRATION_COLUMNS},
  started_at timestamptz NOT NULL DEFAULT now(),
  started_by text NOT NULL
);
CREATE TABLE IF NOT EXISTS pgshift.blocker_actions (${FILE_ACTION_COLUMNS},
  action text NOT NULL,
  pid integer NOT NULL,
  blocker text NOT NULL,
  succeeded boolean NOT NULL,
  acted_at timestamptz NOT NULL DEFAULT now(),
  acted_by text NOT NULL
);
${BLOCKER_GUARD_FUNCTION_SQL};`;

const ready = new WeakSet<Client>();

/** Creates the ledger schema and tables when absent (cheap when they exist). */
export async function ensureLedger(client: Client): Promise<void> {
  if (ready.has(client)) return;
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT to_regclass('pgshift.migrations') IS NOT NULL AND to_regclass('pgshift.repairs') IS NOT NULL
        AND to_regclass('pgshift.started_migrations') IS NOT NULL AND to_regclass('pgshift.blocker_actions') IS NOT NULL
        AND to_regprocedure('pgshift.blocker_guard(text[],text[],integer)') IS NOT NULL AS ok`,
  );
  if (!rows[0].ok) await client.query(CREATE_LEDGER);
  ready.add(client);
}

/** Forgets that the ledger of this client's database was created (after dropping it). */
export function forgetLedger(client: Client): void {
  ready.delete(client);
}

interface LedgerRow {
  version: number;
  name: string;
  forward_checksum: string;
  rollback_checksum: string;
  applied_at: Date;
  applied_by: string;
  duration_ms: number;
  source: string;
}

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    version: row.version,
    name: row.name,
    forwardChecksum: row.forward_checksum,
    rollbackChecksum: row.rollback_checksum,
    appliedAt: new Date(row.applied_at).toISOString(),
    appliedBy: row.applied_by,
    durationMs: row.duration_ms,
    source: row.source,
  };
}

/** Every ledger row in version order; [] when the ledger does not exist yet (reads only). */
export async function readLedger(client: Client): Promise<LedgerEntry[]> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('pgshift.migrations')::text AS t`,
  );
  if (!exists.rows[0].t) return [];
  const result = await client.query<LedgerRow>(
    `SELECT version, name, forward_checksum, rollback_checksum, applied_at, applied_by, duration_ms, source
       FROM pgshift.migrations ORDER BY version`,
  );
  return result.rows.map(toEntry);
}

/** Highest applied version, 0 when nothing is applied or there is no ledger. */
export async function currentVersion(client: Client): Promise<number> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('pgshift.migrations')::text AS t`,
  );
  if (!exists.rows[0].t) return 0;
  const { rows } = await client.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM pgshift.migrations`,
  );
  return rows[0].v ?? 0;
}

/** Records a migration as applied (inside the caller's transaction when there is one). */
export async function insertLedgerEntry(
  client: Client,
  migration: Migration,
  appliedBy: string,
  durationMs: number,
  source: 'migrate' | 'baseline',
): Promise<void> {
  await client.query(
    `INSERT INTO pgshift.migrations
       (version, name, forward_checksum, rollback_checksum, applied_by, duration_ms, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      migration.version,
      migration.name,
      migration.forward.checksum,
      migration.rollback.checksum,
      appliedBy,
      Math.round(durationMs),
      source,
    ],
  );
}

/** Removes a rolled-back migration's row (and its started mark). */
export async function deleteLedgerEntry(client: Client, version: number): Promise<void> {
  await client.query(ledgerDeleteSql(version));
}

/**
 * The ledger insert as one SQL statement with literal values (quoted with the driver's
 * escapeLiteral), so the runner can send a whole migration and its bookkeeping in a single
 * round trip. duration_ms is measured by the server: from the transaction's start to now.
 */
export function ledgerInsertSql(migration: Migration, appliedBy: string): string {
  const values = [
    String(Math.trunc(migration.version)),
    escapeLiteral(migration.name),
    escapeLiteral(migration.forward.checksum),
    escapeLiteral(migration.rollback.checksum),
    escapeLiteral(appliedBy),
    `(extract(epoch FROM clock_timestamp() - now()) * 1000)::integer`,
    `'migrate'`,
  ];
  return `INSERT INTO pgshift.migrations (version, name, forward_checksum, rollback_checksum, applied_by, duration_ms, source) VALUES (${values.join(', ')})`;
}

/** The ledger delete of a rolled-back migration as one SQL statement (and its started mark). */
export function ledgerDeleteSql(version: number): string {
  const v = Math.trunc(version);
  return `DELETE FROM pgshift.migrations WHERE version = ${v};\nDELETE FROM pgshift.started_migrations WHERE version = ${v}`;
}

/**
 * Marks a no-transaction migration as started (committed before its first statement), so a
 * crash inside it is known: a retry rebuilds what it left INVALID, compensation reverts it.
 */
export async function markStarted(
  client: Client,
  migration: Migration,
  startedBy: string,
): Promise<void> {
  await client.query(
    `INSERT INTO pgshift.started_migrations (version, name, forward_checksum, rollback_checksum, started_by)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (version) DO UPDATE SET started_at = now(), started_by = EXCLUDED.started_by`,
    [
      migration.version,
      migration.name,
      migration.forward.checksum,
      migration.rollback.checksum,
      startedBy,
    ],
  );
}

/** Clears the started mark (the ledger row now says applied, or it was reverted). */
export async function clearStarted(client: Client, version: number): Promise<void> {
  await client.query(`DELETE FROM pgshift.started_migrations WHERE version = $1`, [version]);
}

/** Versions of no-transaction migrations that were started and never finished. */
export async function readStarted(client: Client): Promise<number[]> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('pgshift.started_migrations')::text AS t`,
  );
  if (!exists.rows[0].t) return [];
  const { rows } = await client.query<{ version: number }>(
    `SELECT s.version FROM pgshift.started_migrations s
      WHERE NOT EXISTS (SELECT 1 FROM pgshift.migrations m WHERE m.version = s.version)
      ORDER BY s.version`,
  );
  return rows.map((r) => r.version);
}

/** Records a blocker cancelled or terminated by the opt-in policy (who, what, by whom). */
export async function recordBlockerAction(
  client: Client,
  entry: {
    version: number;
    file: string;
    action: string;
    pid: number;
    blocker: string;
    succeeded: boolean;
  },
  actedBy: string,
): Promise<void> {
  await client.query(
    `INSERT INTO pgshift.blocker_actions (version, file, action, pid, blocker, succeeded, acted_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [entry.version, entry.file, entry.action, entry.pid, entry.blocker, entry.succeeded, actedBy],
  );
}
