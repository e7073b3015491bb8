import { planArgument } from '../src/migrations/plan-ref';
import { isCancellation } from '@temporalio/workflow';
import { appHooks, backups, long, quick } from './activity-proxies';
import type { DeployEnding, DeployRun } from './deploy-run';
import { monitorDeployStep } from './deploy-monitoring';
import { formatCounts, formatMs } from './deploy-options';
import { describeFailure } from './failures';
import { failedChecks, padVersion, summariseChecks } from './text';

/**
 * The change, step by step, each followed by a look at a cancellation: backup → baseline →
 * application → migrations → verification → monitoring window. A failure of the application,
 * the migrations, the verification or the window is an immediate rollback trigger.
 */
export async function changeEnvironment(run: DeployRun): Promise<DeployEnding> {
  const baseline = await backupAndBaseline(run);
  run.checkCancel();
  if (run.options.appVersion) await deployApplication(run, run.options.appVersion);
  else run.tracker.skip('deploy application', 'no application version given (--app-version)');
  run.checkCancel();
  await applyMigrations(run);
  run.checkCancel();
  await verifyDeploy(run);
  run.checkCancel();
  return watchWindow(run, baseline);
}

/** The backup (and the application version) before anything changes, then the baseline. */
async function backupAndBaseline(run: DeployRun) {
  const { environment, workflowId, tracker } = run;
  tracker.start(
    'backup',
    `pg_dump of ${environment} and its migration state before anything changes`,
  );
  const backup = await backups.backupDatabase.executeWithOptions(
    { summary: `pg_dump ${environment} (before deploy)` },
    [{ environment, name: `${workflowId}-backup` }],
  );
  run.backup = backup;
  run.appVersionBefore =
    (await quick.readApplicationVersion.executeWithOptions(
      { summary: `read the application version of ${environment}` },
      [{ environment }],
    )) ?? undefined;
  await run.record('running');
  tracker.complete(
    'backup',
    `backup ${backup.id} (${backup.sizeBytes} bytes, sha256 ${backup.sha256.slice(0, 12)})`,
  );

  tracker.start('baseline', `measuring ${environment} before the deploy (latency, row counts)`);
  // The probe reads the tables the plan touches (older histories' validations carry none).
  const tables = run.validation?.touchedTables;
  const baseline = await quick.measureBaseline.executeWithOptions(
    { summary: `measure the latency baseline of ${environment}` },
    [{ environment, ...(tables ? { tables } : {}) }],
  );
  const rowCounts = await quick.captureRowCounts.executeWithOptions(
    { summary: `count rows of critical tables in ${environment}` },
    [{ environment }],
  );
  run.baselineRowCounts = rowCounts;
  tracker.complete(
    'baseline',
    `health ${baseline.healthLatencyMs === null ? 'n/a' : `${Math.round(baseline.healthLatencyMs)} ms`}, probe ${baseline.probeLatencyMs === null ? 'n/a' : `${baseline.probeLatencyMs.toFixed(1)} ms`}; rows ${formatCounts(rowCounts)}`,
  );
  return baseline;
}

async function deployApplication(run: DeployRun, version: string): Promise<void> {
  const { environment, tracker } = run;
  tracker.start('deploy application', `deploying application version ${version} to ${environment}`);
  try {
    const outcome = await appHooks.deployApplication.executeWithOptions(
      { summary: `deploy application ${version} to ${environment}` },
      [{ environment, version }],
    );
    run.appDeployed = outcome.ran && (outcome.ok || outcome.versionAfter !== outcome.versionBefore);
    if (!outcome.ok) throw run.fire('application-deployment-failure', outcome.detail);
    run.appVersionAfter = outcome.versionAfter ?? version;
    tracker.complete('deploy application', outcome.detail);
  } catch (error) {
    if (isCancellation(error) || run.trigger) throw error;
    // The hook's activity failed outright: did the application change anyway?
    const now = await quick.readApplicationVersion.executeWithOptions(
      { summary: `read the application version of ${environment}` },
      [{ environment }],
    );
    run.appDeployed = now !== null && now !== (run.appVersionBefore ?? null);
    throw run.fire('application-deployment-failure', describeFailure(error).message);
  }
}

async function applyMigrations(run: DeployRun): Promise<void> {
  const { environment, plan, initiator, workflowId, tracker, pending, top } = run;
  if (!pending.length) {
    tracker.skip('migrate', `no pending migrations (${environment} at version ${run.fromVersion})`);
    return;
  }
  const what = `${pending.length} migration(s) up to ${padVersion(top)} to ${environment}`;
  tracker.start('migrate', `applying ${what}`);
  run.migrationsTouched = true;
  const applied = await run.guarded('migration-failure', () =>
    long.applyMigrations.executeWithOptions({ summary: `apply ${what}` }, [
      {
        environment,
        plan: planArgument(plan),
        appliedBy: `${initiator} (deploy ${workflowId})`,
        ...(run.authorization ? { authorization: run.authorization } : {}),
      },
    ]),
  );
  tracker.complete(
    'migrate',
    `${applied.appliedCount ?? applied.applied.length} migration(s) applied; ${environment} at version ${applied.toVersion}`,
  );
}

/** Post-deployment verification: SELECT 1, row counts against the baseline, SQL checks, health URLs. */
async function verifyDeploy(run: DeployRun): Promise<void> {
  const { environment, tracker } = run;
  const what = `${environment}: SELECT 1, row counts, SQL checks, health URLs`;
  tracker.start('verify', `post-deployment checks on ${what}`);
  const verification = await run.guarded('verification-failure', () =>
    quick.verifyEnvironment.executeWithOptions({ summary: `verify ${what}` }, [
      { environment, baselineRowCounts: run.baselineRowCounts },
    ]),
  );
  if (!verification.ok) throw run.fire('verification-failure', failedChecks(verification));
  tracker.complete('verify', summariseChecks(verification.checks));
}

/** The monitoring window: every sample within the thresholds, or the breach is the trigger. */
async function watchWindow(
  run: DeployRun,
  baseline: Awaited<ReturnType<typeof backupAndBaseline>>,
): Promise<DeployEnding> {
  const { environment, tracker, top } = run;
  const monitoring = await monitorDeployStep(
    run,
    baseline,
    run.policy!,
    run.overrides,
    () => run.cancelRequested,
  );
  run.checkCancel();
  if (monitoring.breach) throw run.fire(monitoring.breach.trigger, monitoring.breach.detail);
  tracker.complete('monitor', monitoring.detail);
  return {
    finalState: 'completed',
    reason: `${environment} at version ${top}${run.appVersionAfter ? `, application ${run.appVersionAfter}` : ''}; ${monitoring.samples} monitoring sample(s) within thresholds over ${formatMs(monitoring.windowMs)}`,
  };
}
