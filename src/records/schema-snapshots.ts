import { createHash } from 'node:crypto';
import type { Client } from 'pg';
import { snapshotSchema, type CatalogSnapshot } from '../migrations/snapshot';
import { diffSnapshots } from '../migrations/snapshot-diff';
import { ensureRecordTables } from './records-schema';

/**
 * Schema snapshots a workflow takes at known versions, kept in the target database so
 * that any worker can compare against them later. History carries only label and digest.
 */

export function snapshotDigest(snapshot: CatalogSnapshot): string {
  return createHash('sha256').update(JSON.stringify(snapshot)).digest('hex');
}

/** Takes and stores a snapshot under (workflowId, label); retaking replaces it. */
export async function saveSchemaSnapshot(
  client: Client,
  workflowId: string,
  label: string,
): Promise<{ digest: string; objects: number }> {
  const snapshot = await snapshotSchema(client);
  const digest = snapshotDigest(snapshot);
  await ensureRecordTables(client);
  await client.query(
    `INSERT INTO pgshift.schema_snapshots (workflow_id, label, digest, snapshot) VALUES ($1, $2, $3, $4)
     ON CONFLICT (workflow_id, label) DO UPDATE SET digest = EXCLUDED.digest, snapshot = EXCLUDED.snapshot, taken_at = now()`,
    [workflowId, label, digest, JSON.stringify(snapshot)],
  );
  return { digest, objects: snapshot.objects.length };
}

/** Compares the live schema with a stored snapshot: the differences, in words. */
export async function compareWithSchemaSnapshot(
  client: Client,
  workflowId: string,
  label: string,
): Promise<{ matches: boolean; differences: string[] }> {
  await ensureRecordTables(client);
  const { rows } = await client.query(
    `SELECT snapshot FROM pgshift.schema_snapshots WHERE workflow_id = $1 AND label = $2`,
    [workflowId, label],
  );
  if (!rows[0])
    return {
      matches: false,
      differences: [`no schema snapshot "${label}" recorded for ${workflowId}`],
    };
  const differences = diffSnapshots(
    rows[0].snapshot as CatalogSnapshot,
    await snapshotSchema(client),
  );
  return { matches: differences.length === 0, differences: differences.map((d) => d.message) };
}
