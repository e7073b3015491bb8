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
