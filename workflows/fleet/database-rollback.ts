import { quick } from '../activity-proxies';
import { recordRun } from '../steps/record';
import { returnToVersion } from '../steps/return-to-version';
import { failedChecks, summariseChecks } from '../text';
import type { FleetDatabaseInput, FleetDatabaseResult } from './definitions';
import type { ProgressTracker } from '../progress-tracker';
import { workflowInfo } from '@temporalio/workflow';

/** A fleet member's rollback: back to the version it had before the rollout, then verified. */
export async function rollbackDatabase(
  input: FleetDatabaseInput,
  tracker: ProgressTracker,
): Promise<FleetDatabaseResult> {
  const { environment, plan, backupId } = input;
  const workflowId = workflowInfo().workflowId;
  const target = input.targetVersion ?? 0;
  tracker.start('rollback', `returning ${environment} to version ${target}`);
  const appliedBy = `fleet rollback ${workflowId}`;
  const how = { environment, plan, backupId, appliedBy, label: 'fleet rollback: ' };
  const outcome = await returnToVersion({ ...how, version: target });
  const result = (ok: boolean, reason: string): FleetDatabaseResult => ({
    environment,
    outcome: ok ? 'rolled-back' : 'needs-attention',
    fromVersion: target,
    reason,
  });
  if (!outcome.ok) {
    const reason = `rollback files failed (${outcome.filesError})${outcome.restoreError ? `; restore failed (${outcome.restoreError})` : ''}`;
    tracker.fail('rollback', reason);
    tracker.finish('needs-attention', reason);
    return result(false, reason);
  }
  tracker.complete('rollback', `at version ${target} (${outcome.by})`);
  tracker.start('verify', `checks on ${environment} after the rollback`);
  const verification = await quick.verifyEnvironment.executeWithOptions(
    { summary: `verify ${environment} after the fleet rollback` },
    [{ environment }],
  );
  await recordRun(
    environment,
    {
      workflowId,
      kind: 'rollback',
      planChecksum: plan.checksum,
      toVersion: target,
      status: verification.ok ? 'completed' : 'failed-needs-attention',
    },
    `record the fleet rollback of ${environment}`,
  );
  if (!verification.ok) {
    const reason = `verification after the rollback failed: ${failedChecks(verification)}`;
    tracker.fail('verify', reason);
    tracker.finish('needs-attention', reason);
    return result(false, reason);
  }
  tracker.complete('verify', summariseChecks(verification.checks));
  tracker.finish('rolled-back', `${environment} at version ${target}`);
  return result(true, `at version ${target}`);
}
