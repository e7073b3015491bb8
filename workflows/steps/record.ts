import { log } from '@temporalio/workflow';
import type { DeploymentRecord } from '../../src/records/deployments';
import { quick } from '../activity-proxies';
import { describeFailure } from '../failures';

/**
 * Writes one row of the environment's pgshift.deployments. The one policy of every workflow:
 * a record that cannot be written never fails the run; the reason is logged and returned for
 * the caller's step.
 */
export async function recordRun(
  environment: string,
  record: DeploymentRecord,
  summary: string,
): Promise<string | undefined> {
  try {
    await quick.recordDeployment.executeWithOptions({ summary }, [{ environment, record }]);
    return undefined;
  } catch (error) {
    const problem = describeFailure(error).message;
    log.warn('recording the run failed', { workflowId: record.workflowId, problem });
    return problem;
  }
}

/** What a deploy's row is made of (a production deploy's or a fleet member's). */
export interface DeployRecordFacts {
  readonly environment: string;
  readonly workflowId: string;
  readonly plan: { checksum: string };
  readonly fromVersion: number;
  readonly top: number;
  readonly backup: { id: string } | undefined;
}

/** A deploy's row in pgshift.deployments, with its status and (for an ending) the reason. */
export function recordDeploy(
  facts: DeployRecordFacts,
  status: string,
  reason: string | undefined,
  summary: string,
  extra: Partial<DeploymentRecord> = {},
): Promise<string | undefined> {
  return recordRun(
    facts.environment,
    {
      workflowId: facts.workflowId,
      kind: 'deploy',
      planChecksum: facts.plan.checksum,
      fromVersion: facts.fromVersion,
      toVersion: facts.top,
      ...(facts.backup ? { backupId: facts.backup.id } : {}),
      ...extra,
      status,
      ...(reason ? { reason: reason.slice(0, 2000) } : {}),
    },
    summary,
  );
}
