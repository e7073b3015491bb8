import type { Client } from 'pg';
import { ensureRecordTables } from './records-schema';

export interface RehearsalCertificateRecord {
  planChecksum: string;
  workflowId: string;
  passedAt: string;
  toVersion: number;
}

/** Records that the plan passed a rehearsal on this database. Idempotent per workflow. */
export async function recordRehearsalCertificate(
  client: Client,
  cert: { planChecksum: string; workflowId: string; toVersion: number },
): Promise<RehearsalCertificateRecord> {
  await ensureRecordTables(client);
  const { rows } = await client.query(
    `INSERT INTO pgshift.rehearsals (plan_checksum, workflow_id, to_version) VALUES ($1, $2, $3)
     ON CONFLICT (plan_checksum, workflow_id) DO UPDATE SET to_version = EXCLUDED.to_version
     RETURNING passed_at`,
    [cert.planChecksum, cert.workflowId, cert.toVersion],
  );
  return { ...cert, passedAt: new Date(rows[0].passed_at).toISOString() };
}

/** The newest passing rehearsal of exactly this plan, if any. */
export async function findRehearsalCertificate(
  client: Client,
  planChecksum: string,
): Promise<RehearsalCertificateRecord | undefined> {
  const exists = await client.query(`SELECT to_regclass('pgshift.rehearsals') AS t`);
  if (!exists.rows[0].t) return undefined;
  const { rows } = await client.query(
    `SELECT plan_checksum, workflow_id, passed_at, to_version FROM pgshift.rehearsals
     WHERE plan_checksum = $1 ORDER BY passed_at DESC LIMIT 1`,
    [planChecksum],
  );
  if (!rows[0]) return undefined;
  return {
    planChecksum: rows[0].plan_checksum,
    workflowId: rows[0].workflow_id,
    passedAt: new Date(rows[0].passed_at).toISOString(),
    toVersion: rows[0].to_version,
  };
}
