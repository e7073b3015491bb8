import type { Client } from 'pg';

/**
 * pgshift keeps its own records in the target database's `pgshift` schema, beside the
 * ledger: they travel with the database (a backup holds them) and every worker sees them.
 * Rehearsal certificates, deployments, and the schema snapshots a workflow takes at known
 * versions.
 */
export async function ensureRecordTables(client: Client): Promise<void> {
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS pgshift;
    CREATE TABLE IF NOT EXISTS pgshift.rehearsals (
      plan_checksum text NOT NULL,
      workflow_id text NOT NULL,
      passed_at timestamptz NOT NULL DEFAULT now(),
      to_version integer NOT NULL,
      PRIMARY KEY (plan_checksum, workflow_id)
    );
    CREATE TABLE IF NOT EXISTS pgshift.deployments (
      workflow_id text PRIMARY KEY,
      kind text NOT NULL,
      plan_checksum text,
      from_version integer,
      to_version integer,
      backup_id text,
      app_version_before text,
      app_version_after text,
      status text NOT NULL,
      reason text,
      started_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz
    );
    CREATE TABLE IF NOT EXISTS pgshift.schema_snapshots (
      workflow_id text NOT NULL,
      label text NOT NULL,
      digest text NOT NULL,
      snapshot jsonb NOT NULL,
      taken_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (workflow_id, label)
    );`);
}
