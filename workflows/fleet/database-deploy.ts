import { planArgument } from '../../src/migrations/plan-ref';
import {
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { FleetActivities } from '../../activities/fleet';
import { quick, backups, long } from '../activity-proxies';
import { compensateDeploy } from '../deploy-compensation';
import { monitorDeployStep } from '../deploy-monitoring';
import { durationOption } from '../deploy-options';
import { TRIGGER_LABELS, type DeployFacts, type DeployTrigger } from '../deploy-run';
import { describeFailure, stepFailure } from '../failures';
import { EnvironmentLease } from '../lease/lease-client';
import { ProgressTracker } from '../progress-tracker';
import { recordRun } from '../steps/record';
import { failedChecks, firstLine, padVersion, summariseChecks } from '../text';
import {
  fleetMemberAuthorization,
  type FleetDatabaseInput,
  type FleetDatabaseResult,
} from './definitions';
import { rollbackDatabase } from './database-rollback';
import { readStateWithoutDrift } from '../steps/migration-state';

const DEPLOY_STEPS = ['authorize', 'backup', 'baseline', 'migrate', 'verify', 'monitor'];
const ROLLBACK_STEPS = ['authorize', 'rollback', 'verify'];

/**
 * The parent check: a describe and a query, seconds at most. A short timeout, so that an
 * attempt lost with a killed worker is retried soon (the `quick` proxy would wait 2 minutes).
 */
const { verifyFleetParent } = proxyActivities<FleetActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

/**
 * One database of a fleet rollout (a child of `fleetDeploy`): the production deploy's steps
 * without its approval gate — authorize, lease, backup, baseline, migrate, verify, monitor —
 * and, on a failure after a change, the same compensation (rollback files, else the backup).
 * In `rollback` mode it returns the database to the version it had before the rollout.
 *
 * It trusts nothing in its input about approvals: before any change an activity checks that
 * the server-recorded parent (`workflowInfo().parent`) is a running `fleetDeploy` on this
 * task queue whose approvals, replayed against the worker's roster, authorize this database,
 * plan and mode. A start by hand fails with `FleetParentRefused` and changes nothing.
 *
 * Business failures are results (`failed`, `needs-attention`), not workflow failures, so the
 * parent's history keeps one small result per database.
 */
export async function fleetDatabaseDeploy(input: FleetDatabaseInput): Promise<FleetDatabaseResult> {
  const { environment, plan, initiator, mode } = input;
  const info = workflowInfo();
  const tracker = new ProgressTracker(
    'productionDeploy',
    environment,
    mode === 'deploy' ? DEPLOY_STEPS : ROLLBACK_STEPS,
  );
  const lease = new EnvironmentLease(environment, {
    onWaiting: (details) => tracker.setPhase('waiting-for-lease', details),
  });
  const parentId = info.parent?.workflowId ?? '(none)';

  tracker.start('authorize', `checking that fleet rollout ${parentId} authorizes this ${mode}`);
  const authorized = await verifyFleetParent.executeWithOptions(
    { summary: `verify that ${parentId} authorizes the ${mode} of ${environment}` },
    [
      {
        parent: info.parent
          ? { workflowId: info.parent.workflowId, runId: info.parent.runId }
          : undefined,
        fleet: input.fleet,
        environment,
        planChecksum: plan.checksum,
        mode,
      },
    ],
  );
  tracker.complete(
    'authorize',
    `approved by ${authorized.approvedBy.join(', ') || 'nobody required'}`,
  );

  try {
    await lease.acquire({
      kind: 'fleetDatabaseDeploy',
      initiator,
      purpose: `${mode} of plan ${plan.checksum.slice(0, 12)} (fleet ${input.fleet})`,
    });
    return mode === 'deploy'
      ? await deployDatabase(input, tracker)
      : await rollbackDatabase(input, tracker);
  } finally {
    await CancellationScope.nonCancellable(() => lease.release());
  }
}

async function deployDatabase(
  input: FleetDatabaseInput,
  tracker: ProgressTracker,
): Promise<FleetDatabaseResult> {
  const { environment, plan, initiator } = input;
  const workflowId = workflowInfo().workflowId;
  const top = Math.max(0, ...plan.migrations.map((m) => m.version));
  const run: DeployFacts = {
    environment,
    plan,
    workflowId,
    initiator,
    fromVersion: 0,
    backup: undefined,
    baselineRowCounts: undefined,
    migrationsTouched: false,
    appDeployed: false,
    appVersionBefore: undefined,
    trigger: undefined,
    acceptChangedRollback: undefined,
    compensation: undefined,
    authorization: fleetMemberAuthorization(input),
  };
  const fire = (kind: DeployTrigger, detail: string) => {
    run.trigger ??= { kind, detail };
    return stepFailure('RollbackTrigger', `${TRIGGER_LABELS[kind]}: ${detail}`);
  };
  const record = (status: string, reason?: string) =>
    recordRun(
      environment,
      {
        workflowId,
        kind: 'deploy',
        planChecksum: plan.checksum,
        fromVersion: run.fromVersion,
        toVersion: top,
        ...(run.backup ? { backupId: run.backup.id } : {}),
        status,
        ...(reason ? { reason: reason.slice(0, 2000) } : {}),
      },
      `record the fleet deploy of ${environment} as ${status}`,
    );
  const result = (
    outcome: FleetDatabaseResult['outcome'],
    reason: string,
  ): FleetDatabaseResult => ({
    environment,
    outcome,
    fromVersion: run.fromVersion,
    ...(run.backup ? { backupId: run.backup.id } : {}),
    reason,
  });

  try {
    const policy = await quick.loadEnvironmentPolicy.executeWithOptions(
      { summary: `load the deploy policy of ${environment}` },
      [{ environment }],
    );
    const state = await readStateWithoutDrift(environment, plan);
    run.fromVersion = state.currentVersion;
    if (!state.pending.length) {
      for (const step of DEPLOY_STEPS.slice(1)) tracker.skip(step, 'no pending migrations');
      tracker.finish('completed', `${environment} already at version ${state.currentVersion}`);
      return result('deployed', `already at version ${state.currentVersion}`);
    }

    tracker.start('backup', `pg_dump of ${environment} before anything changes`);
    run.backup = await backups.backupDatabase.executeWithOptions(
      { summary: `pg_dump ${environment} (before the fleet deploy)` },
      [{ environment, name: `${workflowId}-backup` }],
    );
    await record('running');
    tracker.complete('backup', `backup ${run.backup.id} (${run.backup.sizeBytes} bytes)`);

    tracker.start('baseline', `measuring ${environment} before the deploy`);
    const baseline = await quick.measureBaseline.executeWithOptions(
      { summary: `measure the latency baseline of ${environment}` },
      [{ environment }],
    );
    run.baselineRowCounts = await quick.captureRowCounts.executeWithOptions(
      { summary: `count rows of critical tables in ${environment}` },
      [{ environment }],
    );
    tracker.complete('baseline', 'measured');

    tracker.start(
      'migrate',
      `applying ${state.pending.length} migration(s) up to ${padVersion(top)}`,
    );
    run.migrationsTouched = true;
    const applied = await long.applyMigrations
      .executeWithOptions(
        {
          summary: `apply ${state.pending.length} migration(s) up to ${padVersion(top)} to ${environment}`,
        },
        [
          {
            environment,
            plan: planArgument(plan),
            appliedBy: `${initiator} (fleet deploy ${workflowId})`,
            authorization: run.authorization,
          },
        ],
      )
      .catch((error: unknown) => {
        if (isCancellation(error)) throw error;
        throw fire('migration-failure', describeFailure(error).message);
      });
    tracker.complete(
      'migrate',
      `${applied.applied.length} applied; at version ${applied.toVersion}`,
    );

    tracker.start('verify', `post-deployment checks on ${environment}`);
    const verification = await quick.verifyEnvironment.executeWithOptions(
      { summary: `verify ${environment}` },
      [{ environment, baselineRowCounts: run.baselineRowCounts }],
    );
    if (!verification.ok) throw fire('verification-failure', failedChecks(verification));
    tracker.complete('verify', summariseChecks(verification.checks));

    const overrides = {
      monitoringWindow: durationOption(input.monitoringWindow, 'monitoringWindow'),
      monitoringInterval: durationOption(input.monitoringInterval, 'monitoringInterval'),
    };
    const monitoring = await monitorDeployStep(
      { environment, tracker },
      baseline,
      policy,
      overrides,
      () => false,
    );
    if (monitoring.breach) throw fire(monitoring.breach.trigger, monitoring.breach.detail);
    tracker.complete('monitor', monitoring.detail);
    await record('completed');
    tracker.finish('completed', `${environment} at version ${top}`);
    return result('deployed', `at version ${top}`);
  } catch (error) {
    const described = describeFailure(error);
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    log.warn('fleet database deploy failed', { environment, message: described.message });
    if (!run.migrationsTouched) {
      tracker.finish('failed', `nothing was changed: ${described.message}`);
      return result('failed', `nothing was changed: ${firstLine(described.message)}`);
    }
    run.trigger ??= { kind: 'unexpected-failure', detail: described.message };
    const compensation = await CancellationScope.nonCancellable(() =>
      compensateDeploy(run, tracker),
    );
    const reason = `${TRIGGER_LABELS[run.trigger.kind]}: ${run.trigger.detail}`;
    const outcome = compensation.ok ? 'failed' : 'needs-attention';
    await record(compensation.ok ? 'rolled-back' : 'failed-needs-attention', reason);
    tracker.finish(outcome, `${reason}; ${compensation.detail}`);
    // One line for the fleet's view (the full text is in this run's steps and record).
    const short = `${TRIGGER_LABELS[run.trigger.kind]}: ${firstLine(run.trigger.detail)}`;
    return result(
      outcome,
      compensation.ok ? `${short} (compensated)` : `${short}; ${compensation.detail}`,
    );
  }
}
