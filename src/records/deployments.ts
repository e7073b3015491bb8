import type { Client } from 'pg';
import { ensureRecordTables } from './records-schema';

export interface DeploymentRecord {
  workflowId: string;
  kind: 'deploy' | 'rollback';
  planChecksum?: string;
  fromVersion?: number;
  toVersion?: number;
  backupId?: string;
  appVersionBefore?: string;
  appVersionAfter?: string;
  status: string;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** Inserts or updates the record of a deploy or rollback (keyed by workflow id). */
export async function recordDeployment(client: Client, record: DeploymentRecord): Promise<void> {
  await ensureRecordTables(client);
  await client.query(
    `INSERT INTO pgshift.deployments (workflow_id, kind, plan_checksum, from_version, to_version, backup_id,
        app_version_before, app_version_after, status, reason, finished_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10, CASE WHEN $9 IN ('running','waiting') THEN NULL ELSE now() END)
     ON CONFLICT (workflow_id) DO UPDATE SET
       from_version = COALESCE(EXCLUDED.from_version, pgshift.deployments.from_version),
       to_version = COALESCE(EXCLUDED.to_version, pgshift.deployments.to_version),
       backup_id = COALESCE(EXCLUDED.backup_id, pgshift.deployments.backup_id),
       app_version_before = COALESCE(EXCLUDED.app_version_before, pgshift.deployments.app_version_before),
       app_version_after = COALESCE(EXCLUDED.app_version_after, pgshift.deployments.app_version_after),
       status = EXCLUDED.status, reason = EXCLUDED.reason, finished_at = EXCLUDED.finished_at`,
    [
      record.workflowId,
      record.kind,
      record.planChecksum ?? null,
      record.fromVersion ?? null,
      record.toVersion ?? null,
      record.backupId ?? null,
      record.appVersionBefore ?? null,
      record.appVersionAfter ?? null,
      record.status,
      record.reason ?? null,
    ],
  );
}

function toRecord(row: Record<string, unknown>): DeploymentRecord {
  const opt = <T>(v: unknown) => (v === null || v === undefined ? undefined : (v as T));
  return {
    workflowId: row.workflow_id as string,
    kind: row.kind as 'deploy' | 'rollback',
    planChecksum: opt(row.plan_checksum),
    fromVersion: opt(row.from_version),
    toVersion: opt(row.to_version),
    backupId: opt(row.backup_id),
    appVersionBefore: opt(row.app_version_before),
    appVersionAfter: opt(row.app_version_after),
    status: row.status as string,
    reason: opt(row.reason),
    startedAt: row.started_at ? new Date(row.started_at as string).toISOString() : undefined,
    finishedAt: row.finished_at ? new Date(row.finished_at as string).toISOString() : undefined,
  };
}

/** Deploys and rollbacks, newest first. */
export async function listDeployments(client: Client, limit = 20): Promise<DeploymentRecord[]> {
  const exists = await client.query(`SELECT to_regclass('pgshift.deployments') AS t`);
  if (!exists.rows[0].t) return [];
  const { rows } = await client.query(
    `SELECT * FROM pgshift.deployments ORDER BY started_at DESC, workflow_id DESC LIMIT $1`,
    [limit],
  );
  return rows.map(toRecord);
}

/** The last deploy that completed: the "last stable state" is what it started from. */
export async function findLastSuccessfulDeployment(
  client: Client,
): Promise<DeploymentRecord | undefined> {
  const exists = await client.query(`SELECT to_regclass('pgshift.deployments') AS t`);
  if (!exists.rows[0].t) return undefined;
  const { rows } = await client.query(
    `SELECT * FROM pgshift.deployments WHERE kind = 'deploy' AND status = 'completed'
     ORDER BY finished_at DESC NULLS LAST LIMIT 1`,
  );
  return rows[0] ? toRecord(rows[0]) : undefined;
}
