import { patched } from '@temporalio/workflow';
import {
  stagingRehearsalInputSchema,
  type StagingRehearsalInput,
  type StagingRehearsalResult,
} from '../definitions';
import { ENVIRONMENT_LEASE_PATCH } from '../lease/definitions';
import { parseWorkflowInput } from '../text';
import {
  backupStaging,
  checkFunctions,
  migrateStaging,
  validateRehearsal,
  verifyStaging,
} from './apply';
import { failRehearsal } from './compensation';
import { finishRehearsal } from './finish';
import { rehearseRollbacks, testRollbacks } from './rollbacks';
import { RehearsalRun } from './run';

export { rehearsalTargets } from './rollbacks';

/**
 * The guide's "Enhanced Staging Rehearsal": validate → backup → migrate → verify →
 * rollback rehearsal → rollback tests → functional checks → report. Any failure after the
 * backup brings staging back to exactly the state it had before (rollback files, else the
 * backup), then the run ends with a failed report.
 *
 * This file is the orchestration, top to bottom; the run's state is in run.ts.
 */
export async function stagingRehearsal(
  rawInput: StagingRehearsalInput,
): Promise<StagingRehearsalResult> {
  const input = parseWorkflowInput(stagingRehearsalInputSchema, rawInput, 'rehearsal');
  const run = new RehearsalRun(input);
  try {
    if (patched(ENVIRONMENT_LEASE_PATCH))
      await run.lease.acquire({
        kind: 'stagingRehearsal',
        initiator: run.initiator,
        purpose: `rehearse plan ${run.shortPlan} (migrations up to ${run.top})`,
      });
    await validateRehearsal(run);
    const rowCounts = await backupStaging(run);
    const targets = await migrateStaging(run);
    await verifyStaging(run, rowCounts);
    const visited = await rehearseRollbacks(run, targets);
    await testRollbacks(run, visited);
    await checkFunctions(run, rowCounts);
  } catch (error) {
    await failRehearsal(run, error);
  }
  // The lease goes after compensation and the certificate: the next holder finds both.
  return finishRehearsal(run).finally(() => run.lease.release());
}
