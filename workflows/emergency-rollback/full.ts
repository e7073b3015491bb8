import { planArgument } from '../../src/migrations/plan-ref';
import { CancellationScope, patched } from '@temporalio/workflow';
import type { RollbackImpact } from '../../activities/impact';
import type { DeploymentRecord } from '../../src/records/deployments';
import { quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { padVersion } from '../text';
import { rollBackApplication } from './application';
import { restore, returnDatabase, takeEmergencyBackup, verifyVersion } from './database-steps';
import { refuse } from './incident';
import { restoreDuringEmergencyBackup, restoreKeepingReplacedDatabase } from './restore';
import {
  announce,
  EMPTY_PLAN,
  lostData,
  planned,
  readAppVersion,
  recordImpact,
  requireAcceptanceApproval,
  summariseLoss,
  type RollbackRun,
} from './run';

/**
 * Patch: a full emergency rollback by restore takes its emergency backup while pg_restore fills
 * the scratch database (one activity) instead of before it; histories without it replay the
 * old order.
 */
export const CONCURRENT_EMERGENCY_BACKUP_PATCH = 'full-emergency-backup-during-restore';

/**
 * Patch: a full emergency rollback by restore keeps the database it replaces (renamed at the
 * swap) as its emergency backup, and a child workflow archives it with pg_dump after the
 * rollback, instead of a pg_dump competing with pg_restore for the same cores.
 */
export const PRESERVED_DATABASE_PATCH = 'full-emergency-keep-replaced-database';

/** How the database goes back to the version before the last deploy. */
interface DatabasePlan {
  target: number;
  /** The rollback files first (the deploy's backup if they fail), or the backup alone. */
  useFiles: boolean;
  impact: RollbackImpact;
}

/**
 * The guide's full emergency rollback: the database and the application back to the state
 * before the last successful deploy. Returns that deploy (marked rolled back when recorded).
 */
export async function fullEmergencyRollback(run: RollbackRun): Promise<DeploymentRecord> {
  const { environment, tracker, incident, plan, policy } = run;
  tracker.start(
    'assess impact',
    'finding the last stable state: the state before the last successful deploy',
  );
  const deploy = await quick.findLastSuccessfulDeployment({ environment });
  if (!deploy)
    throw refuse(
      `no successful deploy of ${environment} is recorded (pgshift.deployments): roll back with --migration-target=N or --app-rollback`,
    );
  incident.note(
    `last successful deploy ${deploy.workflowId}: database ${deploy.fromVersion ?? '?'} → ${deploy.toVersion ?? '?'}, application ${deploy.appVersionBefore ?? '-'} → ${deploy.appVersionAfter ?? '-'}, backup ${deploy.backupId ?? 'none'}`,
  );
  const target = deploy.fromVersion;
  const state = await quick.readMigrationState({
    environment,
    plan: planArgument(plan ?? EMPTY_PLAN),
  });
  incident.learn({ fromVersion: state.currentVersion });
  let database: DatabasePlan | undefined;
  if (target !== undefined && state.currentVersion > target) {
    const impact = await quick.assessRollbackImpact.executeWithOptions(
      { summary: `assess the impact of rolling ${environment} back to ${padVersion(target)}` },
      [{ environment, plan: planArgument(plan ?? EMPTY_PLAN), target }],
    );
    recordImpact(run, impact);
    database = { target, impact, useFiles: !!plan && impact.missingRollbackFiles.length === 0 };
    if (!database.useFiles && !deploy.backupId)
      throw refuse(
        `cannot bring ${environment} back to version ${target}: ${plan ? `no rollback file for ${impact.missingRollbackFiles.join(', ')}` : 'no rollback files (pass --dir)'} and deploy ${deploy.workflowId} recorded no backup`,
      );
    if (deploy.backupId)
      incident.learn({
        restoreLoss: `${database.useFiles ? 'if the rollback files fail, ' : ''}restoring backup ${deploy.backupId} (taken when deploy ${deploy.workflowId} began) replaces the whole database: every write since then is lost`,
      });
  }
  const appBefore = await readAppVersion(run);
  const appExpected = deploy.appVersionBefore;
  const appNeeded = appExpected !== undefined && appBefore !== appExpected;
  if (appNeeded && !policy.app.rollbackHook && !policy.app.deployHook)
    throw refuse(
      `the application must go back to ${appExpected} but no app.rollback or app.deploy hook is configured for ${environment}`,
    );
  const lines = [
    database
      ? database.useFiles
        ? `database ${state.currentVersion} → ${database.target} with the rollback files of ${versionsOf(database.impact)} (backup ${deploy.backupId ?? 'none'} if they fail)`
        : `database ${state.currentVersion} → ${database.target} by restoring backup ${deploy.backupId} (${plan ? `rollback files missing for ${database.impact.missingRollbackFiles.join(', ')}` : 'no rollback files given'})`
      : `database already at version ${state.currentVersion} (target ${target ?? 'unchanged by the deploy'})`,
    appNeeded
      ? `application ${appBefore ?? 'unknown'} → ${appExpected}`
      : `application already at ${appBefore ?? appExpected ?? 'its version'} (unchanged)`,
    ...(database
      ? [`${lostData(database.impact).length} table(s)/column(s) holding data are dropped`]
      : []),
  ];
  planned(run, lines);
  if (database)
    await run.approval.require(
      run,
      database.impact.losesData || !database.useFiles,
      database.useFiles
        ? `rolling back to ${database.target} drops data: ${summariseLoss(database.impact)}`
        : incident.facts.restoreLoss!,
    );
  if (database?.useFiles) await requireAcceptanceApproval(run);
  run.approval.skipUnlessRequired(tracker);
  await CancellationScope.nonCancellable(async () => {
    if (database) await rollBackDatabase(run, database, deploy, lines.join('; '));
    else {
      tracker.skip('emergency backup', 'the database is not changed');
      await announce(run, lines.join('; '));
      for (const step of ['revert migrations', 'restore backup'])
        tracker.skip(step, 'the database is already at the stable version');
      tracker.skip('verify database', 'the database is not changed');
      incident.learn({ toVersion: state.currentVersion, method: 'unchanged' });
    }
    if (appNeeded) await rollBackApplication(run, appExpected, appBefore);
    else {
      tracker.skip('roll back application', 'the application is already at the stable version');
      tracker.skip('verify application', 'the application is not changed');
      incident.learn({ app: { before: appBefore, after: appBefore } });
    }
  });
  return deploy;
}

/** The database part: rollback files (backup if they fail), or the deploy's backup. */
async function rollBackDatabase(
  run: RollbackRun,
  database: DatabasePlan,
  deploy: DeploymentRecord,
  plannedSteps: string,
): Promise<void> {
  const { tracker, incident } = run;
  const { target, useFiles, impact } = database;
  // Restoring without trying rollback files first: the replaced database is kept as the
  // emergency backup (older histories: a pg_dump during the restore, or before it).
  const keepReplaced = !useFiles && patched(PRESERVED_DATABASE_PATCH);
  const duringRestore = !useFiles && !keepReplaced && patched(CONCURRENT_EMERGENCY_BACKUP_PATCH);
  if (!duringRestore && !keepReplaced) await takeEmergencyBackup(run);
  await announce(run, plannedSteps);
  if (useFiles) {
    incident.learn({ method: `rollback files ${versionsOf(impact)}` });
    const outcome = await returnDatabase(
      run,
      target,
      deploy.backupId
        ? {
            id: deploy.backupId,
            filesFailed: async (why) => {
              await run.approval.require(
                run,
                true,
                `the rollback files failed (${why}); ${incident.facts.restoreLoss}`,
              );
              incident.learn({
                method: `rollback files failed (${why}); restored backup ${deploy.backupId}`,
              });
            },
          }
        : undefined,
    );
    if (!outcome.ok)
      throw stepFailure(
        'RollbackFailed',
        outcome.restoreError
          ? `rollback files failed (${outcome.filesError}) and restoring backup ${deploy.backupId} failed (${outcome.restoreError})`
          : outcome.filesError,
      );
    if (outcome.by === 'files')
      tracker.skip('restore backup', 'the rollback files brought the database back');
    return;
  } else {
    tracker.skip('revert migrations', 'restoring the deploy backup instead');
    incident.learn({ method: `restored backup ${deploy.backupId}` });
    if (keepReplaced) await restoreKeepingReplacedDatabase(run, deploy.backupId!);
    else if (duringRestore) await restoreDuringEmergencyBackup(run, deploy.backupId!);
    else await restore(run, deploy.backupId!);
  }
  await verifyVersion(run, target, incident.facts.method!);
}

function versionsOf(impact: RollbackImpact): string {
  return impact.reverted.map((m) => padVersion(m.version)).join(', ');
}
