import { planArgument } from '../../src/migrations/plan-ref';
import { CancellationScope, isCancellation, log, workflowInfo } from '@temporalio/workflow';
import type { BackupSummary } from '../../activities/backup';
import type { SignedAuthorization } from '../../src/approvals/authorization';
import type { PlanRef } from '../../src/migrations/types';
import type { RowCounts } from '../../src/verify/row-counts';
import { backups, long, quick } from '../activity-proxies';
import { compensateDeploy } from '../deploy-compensation';
import { monitorDeployStep } from '../deploy-monitoring';
import { durationOption } from '../deploy-options';
import { TRIGGER_LABELS, type DeployFacts, type DeployTrigger } from '../deploy-run';
import { describeFailure, stepFailure } from '../failures';
import type { ProgressTracker } from '../progress-tracker';
import { readStateWithoutDrift } from '../steps/migration-state';
import { recordDeploy } from '../steps/record';
import { failedChecks, firstLine, padVersion, summariseChecks } from '../text';
import type { FleetDatabaseInput, FleetDatabaseResult } from './definitions';

export const MEMBER_DEPLOY_STEPS = [
  'authorize',
  'backup',
  'baseline',
  'migrate',
  'verify',
  'monitor',
];

/**
 * A fleet member's deploy: the production deploy's steps after its approval gate — backup,
 * baseline, migrate, verify, monitor — and, on a failure after a change, the same compensation
 * (`compensateDeploy` reads this run's facts, as it reads a `DeployRun`'s).
 */
export class MemberDeploy implements DeployFacts {
  readonly environment: string;
  readonly plan: PlanRef;
  readonly workflowId = workflowInfo().workflowId;
  readonly initiator: string;
  /** The plan's last version: where the deploy takes the database. */
  readonly top: number;

  // ── done so far (compensation undoes it) ──
  fromVersion = 0;
  backup: BackupSummary | undefined;
  baselineRowCounts: RowCounts | undefined;
  migrationsTouched = false;
  /** A fleet member deploys no application. */
  readonly appDeployed = false;
  readonly appVersionBefore = undefined;
  trigger: { kind: DeployTrigger; detail: string } | undefined;
  readonly acceptChangedRollback = undefined;
  compensation: { ok: boolean; detail: string } | undefined;
  /** Fleet members are authorized by their parent's check (`verifyFleetParent`), not here. */
  readonly authorization: SignedAuthorization | undefined = undefined;

  constructor(
    readonly input: FleetDatabaseInput,
    readonly tracker: ProgressTracker,
  ) {
    this.environment = input.environment;
    this.plan = input.plan;
    this.initiator = input.initiator;
    this.top = Math.max(0, ...input.plan.migrations.map((m) => m.version));
  }

  /** Runs the deploy; a failure after a change is compensated, and every ending is a result. */
  async run(): Promise<FleetDatabaseResult> {
    try {
      return await this.deploy();
    } catch (error) {
      return await this.undo(error);
    }
  }

  private async deploy(): Promise<FleetDatabaseResult> {
    const { environment, plan, tracker, top, workflowId } = this;
    const policy = await quick.loadEnvironmentPolicy.executeWithOptions(
      { summary: `load the deploy policy of ${environment}` },
      [{ environment }],
    );
    const state = await readStateWithoutDrift(environment, plan);
    this.fromVersion = state.currentVersion;
    if (!state.pending.length) {
      for (const step of MEMBER_DEPLOY_STEPS.slice(1)) tracker.skip(step, 'no pending migrations');
      tracker.finish('completed', `${environment} already at version ${state.currentVersion}`);
      return this.result('deployed', `already at version ${state.currentVersion}`);
    }

    tracker.start('backup', `pg_dump of ${environment} before anything changes`);
    this.backup = await backups.backupDatabase.executeWithOptions(
      { summary: `pg_dump ${environment} (before the fleet deploy)` },
      [{ environment, name: `${workflowId}-backup` }],
    );
    await this.record('running');
    tracker.complete('backup', `backup ${this.backup.id} (${this.backup.sizeBytes} bytes)`);

    tracker.start('baseline', `measuring ${environment} before the deploy`);
    const baseline = await quick.measureBaseline.executeWithOptions(
      { summary: `measure the latency baseline of ${environment}` },
      [{ environment }],
    );
    this.baselineRowCounts = await quick.captureRowCounts.executeWithOptions(
      { summary: `count rows of critical tables in ${environment}` },
      [{ environment }],
    );
    tracker.complete('baseline', 'measured');

    const migrations = `${state.pending.length} migration(s) up to ${padVersion(top)}`;
    tracker.start('migrate', `applying ${migrations}`);
    this.migrationsTouched = true;
    const applied = await long.applyMigrations
      .executeWithOptions({ summary: `apply ${migrations} to ${environment}` }, [
        {
          environment,
          plan: planArgument(plan),
          appliedBy: `${this.initiator} (fleet deploy ${workflowId})`,
        },
      ])
      .catch((error: unknown) => {
        if (isCancellation(error)) throw error;
        throw this.fire('migration-failure', describeFailure(error).message);
      });
    tracker.complete(
      'migrate',
      `${applied.applied.length} applied; at version ${applied.toVersion}`,
    );

    tracker.start('verify', `post-deployment checks on ${environment}`);
    const verification = await quick.verifyEnvironment.executeWithOptions(
      { summary: `verify ${environment}` },
      [{ environment, baselineRowCounts: this.baselineRowCounts }],
    );
    if (!verification.ok) throw this.fire('verification-failure', failedChecks(verification));
    tracker.complete('verify', summariseChecks(verification.checks));

    const overrides = {
      monitoringWindow: durationOption(this.input.monitoringWindow, 'monitoringWindow'),
      monitoringInterval: durationOption(this.input.monitoringInterval, 'monitoringInterval'),
    };
    const monitoring = await monitorDeployStep(
      { environment, tracker },
      baseline,
      policy,
      overrides,
      () => false,
    );
    if (monitoring.breach) throw this.fire(monitoring.breach.trigger, monitoring.breach.detail);
    tracker.complete('monitor', monitoring.detail);
    await this.record('completed');
    tracker.finish('completed', `${environment} at version ${top}`);
    return this.result('deployed', `at version ${top}`);
  }

  /** After a failure: nothing to undo before the migrations, else the deploy's compensation. */
  private async undo(error: unknown): Promise<FleetDatabaseResult> {
    const { environment, tracker } = this;
    const described = describeFailure(error);
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    log.warn('fleet database deploy failed', { environment, message: described.message });
    if (!this.migrationsTouched) {
      tracker.finish('failed', `nothing was changed: ${described.message}`);
      return this.result('failed', `nothing was changed: ${firstLine(described.message)}`);
    }
    const trigger = (this.trigger ??= { kind: 'unexpected-failure', detail: described.message });
    const compensation = await CancellationScope.nonCancellable(() =>
      compensateDeploy(this, tracker),
    );
    const reason = `${TRIGGER_LABELS[trigger.kind]}: ${trigger.detail}`;
    const outcome = compensation.ok ? 'failed' : 'needs-attention';
    await this.record(compensation.ok ? 'rolled-back' : 'failed-needs-attention', reason);
    tracker.finish(outcome, `${reason}; ${compensation.detail}`);
    // One line for the fleet's view (the full text is in this run's steps and record).
    const short = `${TRIGGER_LABELS[trigger.kind]}: ${firstLine(trigger.detail)}`;
    return this.result(
      outcome,
      compensation.ok ? `${short} (compensated)` : `${short}; ${compensation.detail}`,
    );
  }

  /** A rollback trigger fired (the first one wins): the failure that stops the deploy. */
  private fire(kind: DeployTrigger, detail: string) {
    this.trigger ??= { kind, detail };
    return stepFailure('RollbackTrigger', `${TRIGGER_LABELS[kind]}: ${detail}`);
  }

  private record(status: string, reason?: string) {
    const summary = `record the fleet deploy of ${this.environment} as ${status}`;
    return recordDeploy(this, status, reason, summary);
  }

  private result(outcome: FleetDatabaseResult['outcome'], reason: string): FleetDatabaseResult {
    return {
      environment: this.environment,
      outcome,
      fromVersion: this.fromVersion,
      ...(this.backup ? { backupId: this.backup.id } : {}),
      reason,
    };
  }
}
