import { planArgument } from '../../src/migrations/plan-ref';
import type { PlanRef } from '../../src/migrations/types';
import { quick } from '../activity-proxies';
import type { EmergencyRollbackResult } from '../definitions';
import type { ProgressTracker } from '../progress-tracker';
import { EMPTY_PLAN } from './run';

/** `--status-only`: migration state, application version, latest backups, recent deploys. Changes nothing. */
export async function readStatusOnly(
  tracker: ProgressTracker,
  environment: string,
  plan: PlanRef | undefined,
  startedMs: number,
): Promise<EmergencyRollbackResult> {
  tracker.start('read status', `reading the state of ${environment}`);
  const [migration, appVersion, latestBackups, deployments, lastDeploy] = await Promise.all([
    quick.readMigrationState.executeWithOptions(
      { summary: `read migration state of ${environment}` },
      [{ environment, plan: planArgument(plan ?? EMPTY_PLAN) }],
    ),
    quick.readApplicationVersion.executeWithOptions(
      { summary: `read application version of ${environment}` },
      [{ environment }],
    ),
    quick.listEnvironmentBackups.executeWithOptions(
      { summary: `list latest backups of ${environment}` },
      [{ environment, limit: 5 }],
    ),
    quick.listDeployments.executeWithOptions({ summary: `list recent deploys of ${environment}` }, [
      { environment, limit: 10 },
    ]),
    quick.findLastSuccessfulDeployment.executeWithOptions(
      { summary: `find the last successful deploy of ${environment}` },
      [{ environment }],
    ),
  ]);
  const detail = `version ${migration.currentVersion}, application ${appVersion ?? 'unknown'}, ${latestBackups.length} backup(s), ${deployments.length} recorded deploy(s)/rollback(s)`;
  tracker.complete('read status', detail);
  tracker.finish('completed', `status of ${environment}: ${detail}`);
  return {
    finalState: 'completed',
    environment,
    type: 'status-only',
    steps: tracker.progress.steps,
    durationMs: Date.now() - startedMs,
    status: {
      migration: {
        currentVersion: migration.currentVersion,
        appliedCount: migration.appliedCount,
        ...(plan
          ? {
              pending: migration.pending,
              drift: migration.drift,
              missingFiles: migration.missingFiles,
            }
          : {}),
      },
      appVersion,
      backups: latestBackups,
      deployments,
      lastSuccessfulDeploy: lastDeploy,
    },
  };
}
