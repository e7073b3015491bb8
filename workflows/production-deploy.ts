import { planArgument } from '../src/migrations/plan-ref';
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnvironmentPolicy } from '../activities/policy';
import type { PlanValidation } from '../activities/plan';
import type { NotificationSeverity } from '../src/app/notify';
import {
  checkSignedDecision,
  missingRoles,
  requiredRolesFor,
  type SignatureContext,
} from './approval-policy';
import { appHooks, backups, long, quick } from './activity-proxies';
import { notify } from './steps/notify';
import { recordRun } from './steps/record';
import {
  productionDeployInputSchema,
  type ApprovalState,
  type DeployFinalState,
  type ProductionDeployInput,
  type ProductionDeployResult,
} from './definitions';
import { ApprovalGate } from './deploy-approval-gate';
import { compensateDeploy } from './deploy-compensation';
import { monitorDeployment, showDetails } from './deploy-monitoring';
import { finishDeploy } from './deploy-finish';
import { DeployCancellation, durationOption, formatCounts, formatMs } from './deploy-options';
import { hasChanges, TRIGGER_LABELS, type DeployRun, type DeployTrigger } from './deploy-run';
import { describeFailure, stepFailure } from './failures';
import { ENVIRONMENT_LEASE_PATCH } from './lease/definitions';
import { EnvironmentLease } from './lease/lease-client';
import { ProgressTracker } from './progress-tracker';
import {
  authorizationOf,
  listenForKeyReloads,
  loadSignatureContext,
  SIGNED_APPROVALS_PATCH,
  verifySignedStart,
} from './signed-approvals';
import {
  failedChecks,
  padVersion,
  parseWorkflowInput,
  summariseChecks,
  validationFailure,
} from './text';

const STEPS = [
  'validate',
  'approvals',
  'backup',
  'baseline',
  'deploy application',
  'migrate',
  'verify',
  'monitor',
  'report',
];

interface Ending {
  finalState: DeployFinalState;
  reason: string;
}

/**
 * The guide's "Production Deployment" as a durable workflow:
 * pre-deployment validation (plan, drift, rehearsal certificate) → approvals gate (signals or
 * updates, one pure policy; expiry and reminders) → backup → baseline → optional application
 * deploy → migrations → post-deployment verification → monitoring window → completed.
 *
 * When the application deploy, a migration, the verification or the monitoring window fails
 * (the guide's immediate rollback triggers), or the deploy is cancelled after a change, the
 * saga undoes what this run did, in reverse, in a non-cancellable scope, exactly once:
 * rollback files (else this run's backup), application rollback, verification. Final states:
 * completed, rejected, approval-expired (no change made), rolled-back (with the trigger),
 * failed-needs-attention (the undo itself failed). A deploy refused before any change
 * (invalid plan, drift, no rehearsal certificate) fails with a typed ApplicationFailure.
 */
export async function productionDeploy(
  rawInput: ProductionDeployInput,
): Promise<ProductionDeployResult> {
  const input = parseWorkflowInput(productionDeployInputSchema, rawInput, 'deploy');
  const { environment, plan, initiator, options } = input;
  // Signed approvals (keys from the worker's config); older histories replay without them.
  const signed = patched(SIGNED_APPROVALS_PATCH);
  const overrides = {
    monitoringWindow: durationOption(options.monitoringWindow, 'options.monitoringWindow'),
    monitoringInterval: durationOption(options.monitoringInterval, 'options.monitoringInterval'),
    approvalExpiry: durationOption(options.approvalExpiry, 'options.approvalExpiry'),
  };
  const workflowId = workflowInfo().workflowId;
  const shortPlan = plan.checksum.slice(0, 12);
  const top = Math.max(0, ...plan.migrations.map((m) => m.version));
  const tracker = new ProgressTracker('productionDeploy', environment, STEPS);
  const run: DeployRun = {
    environment,
    plan,
    workflowId,
    initiator,
    fromVersion: 0,
    toVersion: top,
    migrationsTouched: false,
    appDeployed: false,
    ...(options.acceptChangedRollback
      ? { acceptChangedRollback: { ...options.acceptChangedRollback, acceptedBy: initiator } }
      : {}),
  };

  // ── handlers first: nothing sent early is lost ──
  const gate = new ApprovalGate((state) => {
    if (!gate?.isOpen) return;
    if (tracker.progress.phase === 'awaiting-approval') showDetails(tracker, waitingDetails(state));
    else tracker.setPhase('awaiting-approval', waitingDetails(state));
  });
  const cancellation = new DeployCancellation(signed);
  // The environment lease, held from the backup to the end of compensation (no command here).
  const lease = new EnvironmentLease(environment, {
    onWaiting: (details) => showDetails(tracker, details),
  });
  let signatures: SignatureContext | undefined;
  if (signed)
    listenForKeyReloads(
      environment,
      () => gate.signatures ?? signatures,
      (fresh) => {
        signatures = fresh;
        gate.refreshSignatures(fresh);
      },
    );
  const cancelRequested = () => cancellation.requested;

  /** Records the trigger (the first one wins) and returns the failure that unwinds the deploy. */
  const fire = (kind: DeployTrigger, detail: string) => {
    run.trigger ??= { kind, detail };
    return stepFailure('RollbackTrigger', `${TRIGGER_LABELS[kind]}: ${detail}`);
  };
  const checkCancel = () => {
    const request = cancellation.request;
    if (request) throw fire('cancelled', `cancelled by ${request.by}: ${request.reason}`);
  };
  /** Runs a step whose failure is an immediate rollback trigger. */
  const guarded = async <T>(kind: DeployTrigger, step: () => Promise<T>): Promise<T> => {
    try {
      return await step();
    } catch (error) {
      if (isCancellation(error)) throw error;
      throw fire(kind, describeFailure(error).message);
    }
  };
  const tell = (severity: NotificationSeverity, title: string, text: string) =>
    notify(environment, {
      severity,
      title,
      text,
      fields: { Workflow: workflowId, Plan: shortPlan, 'Started by': initiator },
    });
  const record = async (status: string, reason?: string) => {
    await recordRun(
      environment,
      {
        workflowId,
        kind: 'deploy',
        planChecksum: plan.checksum,
        fromVersion: run.fromVersion,
        toVersion: top,
        ...(run.backup ? { backupId: run.backup.id } : {}),
        ...(run.appVersionBefore ? { appVersionBefore: run.appVersionBefore } : {}),
        ...((run.appVersionAfter ?? run.appVersionBefore)
          ? { appVersionAfter: run.appVersionAfter ?? run.appVersionBefore }
          : {}),
        status,
        ...(reason ? { reason: reason.slice(0, 2000) } : {}),
      },
      `record the deploy in ${environment} as ${status}`,
    );
  };

  let policy: EnvironmentPolicy | undefined;
  let validation: PlanValidation | undefined;
  let waiver: { reason: string; by: string } | undefined;
  let pending: number[] = [];

  function waitingDetails(state: ApprovalState): string {
    const roster = policy?.approvals.roster ?? {};
    const missing = missingRoles(state)
      .map((role) => `**${role}** (${(roster[role] ?? []).join(', ') || 'nobody on the roster'})`)
      .join(', ');
    const granted = state.granted.map((g) => `${g.role} by ${g.approver}`).join(', ');
    const refused = state.refused.length
      ? `; ${state.refused.length} refused attempt(s), latest: ${state.refused[state.refused.length - 1].summary} (${state.refused[state.refused.length - 1].reason})`
      : '';
    return (
      `waiting for approvals of plan \`${shortPlan}\` until ${state.expiresAt}: missing ${missing || 'none'}` +
      `${granted ? `; approved: ${granted}` : ''}${refused}. ` +
      (signatures?.required
        ? `Approve with \`pgshift approve ${workflowId} --role <role> --as <name> --key <private key>\` or the \`approve\` signal {"role", "approver", "statement", "signature"} (signed statements only: \`--print-statement\`, then \`ssh-keygen -Y sign -n pgshift\`).`
        : `Approve with \`pgshift approve ${workflowId} --role <role> --as <name>\` or the \`approve\` signal {"role", "approver"}.`)
    );
  }

  async function checkRehearsal(required: string | null): Promise<string> {
    if (options.waiveRehearsal) {
      waiver = { reason: options.waiveRehearsal.reason, by: initiator };
      await tell(
        'warning',
        `Rehearsal WAIVED for a deploy to ${environment}`,
        `${initiator} waived the ${required ?? 'staging'} rehearsal of plan ${shortPlan}: ${waiver.reason}`,
      );
      return `rehearsal waived by ${initiator}: ${waiver.reason}`;
    }
    if (!required) return 'no rehearsal required for this environment';
    const certificate = await quick.findRehearsalCertificate.executeWithOptions(
      { summary: `find a passing ${required} rehearsal of plan ${shortPlan}` },
      [{ environment: required, planChecksum: plan.checksum }],
    );
    if (!certificate)
      throw stepFailure(
        'RehearsalRequired',
        `no passing rehearsal of plan ${shortPlan} on ${required}: run \`pgshift rehearse --env ${required}\` with the same migrations first, or deploy with --waive-rehearsal "<reason>" (recorded and notified)`,
      );
    return `rehearsed on ${required} (${certificate.workflowId}, ${certificate.passedAt})`;
  }

  /**
   * Holding the lease: the environment must still be where the plan was approved for (a
   * rollback or another deploy may have run while this one waited); else nothing is changed.
   */
  async function recheckEnvironment(): Promise<void> {
    const now = await quick.readMigrationState.executeWithOptions(
      { summary: `re-read the migration state of ${environment} (lease held)` },
      [{ environment, plan: planArgument(plan) }],
    );
    const changed = now.drift.length
      ? `it has drifted from plan ${shortPlan}: ${now.drift.join('; ')}`
      : now.currentVersion !== run.fromVersion || now.pending.join(',') !== pending.join(',')
        ? `it is at version ${now.currentVersion} with ${now.pending.length} pending migration(s), not at version ${run.fromVersion} with ${pending.length} pending as when validated`
        : undefined;
    if (changed)
      throw stepFailure(
        'EnvironmentChanged',
        `${environment} changed while this deploy waited for its approvals and the lease: ${changed}. The approvals were given for version ${run.fromVersion}; start a new deploy of plan ${shortPlan} so that it is validated and approved against the current state`,
      );
  }

  async function deployApplication(version: string): Promise<void> {
    tracker.start(
      'deploy application',
      `deploying application version ${version} to ${environment}`,
    );
    try {
      const outcome = await appHooks.deployApplication.executeWithOptions(
        { summary: `deploy application ${version} to ${environment}` },
        [{ environment, version }],
      );
      run.appDeployed =
        outcome.ran && (outcome.ok || outcome.versionAfter !== outcome.versionBefore);
      if (!outcome.ok) throw fire('application-deployment-failure', outcome.detail);
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
      throw fire('application-deployment-failure', describeFailure(error).message);
    }
  }

  /** The approver keys, the initiator's signed start (and waiver), and who may cancel. */
  async function loadSignatures(): Promise<void> {
    const loaded = await loadSignatureContext(environment);
    const waiverSigned = options.waiveRehearsal;
    signatures = verifySignedStart(loaded, initiator, plan.checksum, [
      { payload: input, action: 'initiate-deploy', what: 'the start of this deploy' },
      ...(waiverSigned
        ? [
            {
              payload: waiverSigned,
              action: 'rehearsal-waiver' as const,
              what: 'the rehearsal waiver of this deploy',
            },
          ]
        : []),
    ]);
    const cancelNonces: string[] = [];
    cancellation.judgeWith((request) => {
      const check = checkSignedDecision(
        request,
        'cancel',
        request.by,
        { usedNonces: cancelNonces },
        { now: Date.now(), planChecksum: plan.checksum, signatures: gate.signatures ?? signatures },
      );
      if (check.ok) {
        if (check.signer) cancelNonces.push(check.signer.nonce);
        return true;
      }
      gate.recordRefusal({
        summary: `cancel by ${request.by}`,
        reason: check.reason,
        approver: request.by,
        ...(check.fingerprint ? { fingerprint: check.fingerprint } : {}),
      });
      return false;
    });
  }

  /** Re-reads the keys, keeping what this run's start established (initiator key, nonces). */
  async function reloadSignatures(): Promise<SignatureContext> {
    const fresh = await loadSignatureContext(environment);
    signatures = {
      ...(gate.signatures ?? signatures ?? fresh),
      required: fresh.required,
      allowedSigners: fresh.allowedSigners,
    };
    return signatures;
  }

  async function deploy(): Promise<Ending> {
    // ── pre-deployment validation ──
    tracker.start(
      'validate',
      `validating ${plan.migrations.length} migrations of plan ${shortPlan} for ${environment}`,
    );
    policy = await quick.loadEnvironmentPolicy.executeWithOptions(
      { summary: `load the deploy policy of ${environment}` },
      [{ environment }],
    );
    if (signed)
      await loadSignatures().catch((error: unknown) => {
        // A refused start is recorded where refusals are read (the approvals query).
        if (error instanceof ApplicationFailure && error.type === 'SignatureRefused')
          gate.recordRefusal({
            summary: `start by ${initiator}`,
            reason: error.message,
            approver: initiator,
          });
        throw error;
      });
    validation = await long.validatePlan.executeWithOptions(
      { summary: `validate ${plan.migrations.length} migrations, plan ${shortPlan}` },
      [{ plan: planArgument(plan) }],
    );
    if (validation.errors.length) throw validationFailure(validation.errors);
    const state = await quick.readMigrationState.executeWithOptions(
      { summary: `read migration state of ${environment}` },
      [{ environment, plan: planArgument(plan) }],
    );
    if (state.drift.length)
      throw stepFailure(
        'DriftError',
        `${environment} has drifted from plan ${shortPlan}: ${state.drift.join('; ')}`,
      );
    run.fromVersion = state.currentVersion;
    pending = state.pending;
    if (!pending.length && !options.appVersion)
      throw stepFailure(
        'NothingToDeploy',
        `${environment} is already at version ${run.fromVersion} with every migration of plan ${shortPlan} applied: nothing to deploy`,
      );
    if (options.appVersion && !policy.appHooks.deploy)
      throw stepFailure(
        'ConfigError',
        `an application version (${options.appVersion}) needs a deploy hook: set environments.${environment}.app.deploy in pgshift.config.json`,
      );
    const rehearsal = await checkRehearsal(policy.requireRehearsalFrom);
    tracker.complete(
      'validate',
      `${validation.migrations} migrations valid${validation.highRisk ? ' (HIGH RISK)' : ''}; ${environment} at version ${run.fromVersion}, ${pending.length} pending; ${rehearsal}`,
    );
    checkCancel();

    // ── approvals ──
    const highRisk = validation.highRisk || options.highRisk === true;
    const requiredRoles = requiredRolesFor(policy.approvals, { highRisk });
    const expiryMs = overrides.approvalExpiry ?? policy.approvals.expiryMs;
    tracker.start('approvals', `waiting for ${requiredRoles.join(', ')}`);
    gate.open({
      initiator,
      planChecksum: plan.checksum,
      roster: policy.approvals.roster,
      requiredRoles,
      expiresAt: Date.now() + expiryMs,
      allowInitiator: policy.approvals.allowInitiator,
      ...(signatures ? { signatures } : {}),
    });
    await tell(
      'info',
      `Approval needed: deploy to ${environment}`,
      `${initiator} asks to deploy plan ${shortPlan} (${pending.length} migration(s) up to ${top}${options.appVersion ? `, application ${options.appVersion}` : ''}${options.acceptChangedRollback ? `; compensation may run CHANGED rollback files: ${options.acceptChangedRollback.reason}` : ''}) to ${environment}${highRisk ? ` — HIGH RISK: ${[...(validation.riskReasons ?? []), ...(options.highRisk ? ['marked high risk by the initiator'] : [])].slice(0, 5).join('; ')}` : ''}. Needed: ${requiredRoles.join(', ')}; expires ${gate.state.expiresAt}.`,
    );
    const outcome = await gate.wait({
      reminderEveryMs: policy.approvals.reminderEveryMs,
      remind: (missing) =>
        tell(
          'warning',
          `Reminder: deploy to ${environment} waits for approvals`,
          `Plan ${shortPlan} still needs ${missing.join(', ')}; the window closes at ${gate.state.expiresAt}.`,
        ),
      stop: cancelRequested,
      ...(signatures ? { reloadKeys: reloadSignatures } : {}),
    });
    const approvals = gate.state;
    if (outcome === 'rejected') {
      const by = approvals.rejected!;
      tracker.fail('approvals', `rejected by ${by.approver}: ${by.reason}`);
      return { finalState: 'rejected', reason: `rejected by ${by.approver}: ${by.reason}` };
    }
    if (outcome === 'expired') {
      const reason = `the approval window (${formatMs(expiryMs)}) closed at ${approvals.expiresAt} with ${missingRoles(approvals).join(', ')} missing; nothing was changed`;
      tracker.fail('approvals', reason);
      return { finalState: 'approval-expired', reason };
    }
    if (outcome === 'cancelled') {
      const reason = `cancelled by ${cancellation.request?.by} before any change: ${cancellation.request?.reason}`;
      tracker.fail('approvals', reason);
      return { finalState: 'rejected', reason };
    }
    tracker.complete(
      'approvals',
      approvals.granted.map((g) => `${g.role} by ${g.approver}`).join(', ') ||
        'no approvals required',
    );
    if (signatures) run.authorization = authorizationOf('deploy', input, gate.state);
    checkCancel();

    // ── the environment lease, then a re-check: another run may have changed it meanwhile ──
    if (patched(ENVIRONMENT_LEASE_PATCH)) {
      tracker.setPhase('waiting-for-lease', `asking for the lease on ${environment}`);
      await lease.acquire({
        kind: 'productionDeploy',
        initiator,
        purpose: `deploy plan ${shortPlan} (${pending.length} migration(s) up to ${top})`,
      });
      await recheckEnvironment();
      checkCancel();
    }

    // ── backup ──
    tracker.start(
      'backup',
      `pg_dump of ${environment} and its migration state before anything changes`,
    );
    run.backup = await backups.backupDatabase.executeWithOptions(
      { summary: `pg_dump ${environment} (before deploy)` },
      [{ environment, name: `${workflowId}-backup` }],
    );
    run.appVersionBefore =
      (await quick.readApplicationVersion.executeWithOptions(
        { summary: `read the application version of ${environment}` },
        [{ environment }],
      )) ?? undefined;
    await record('running');
    tracker.complete(
      'backup',
      `backup ${run.backup.id} (${run.backup.sizeBytes} bytes, sha256 ${run.backup.sha256.slice(0, 12)})`,
    );

    // ── baseline, before anything changes ──
    tracker.start('baseline', `measuring ${environment} before the deploy (latency, row counts)`);
    // The probe reads the tables the plan touches (older histories' validations carry none).
    const tables = validation?.touchedTables;
    const baseline = await quick.measureBaseline.executeWithOptions(
      { summary: `measure the latency baseline of ${environment}` },
      [{ environment, ...(tables ? { tables } : {}) }],
    );
    run.baselineRowCounts = await quick.captureRowCounts.executeWithOptions(
      { summary: `count rows of critical tables in ${environment}` },
      [{ environment }],
    );
    tracker.complete(
      'baseline',
      `health ${baseline.healthLatencyMs === null ? 'n/a' : `${Math.round(baseline.healthLatencyMs)} ms`}, probe ${baseline.probeLatencyMs === null ? 'n/a' : `${baseline.probeLatencyMs.toFixed(1)} ms`}; rows ${formatCounts(run.baselineRowCounts)}`,
    );
    checkCancel();

    // ── application ──
    if (options.appVersion) await deployApplication(options.appVersion);
    else tracker.skip('deploy application', 'no application version given (--app-version)');
    checkCancel();

    // ── migrations ──
    if (pending.length) {
      tracker.start(
        'migrate',
        `applying ${pending.length} migration(s) up to ${padVersion(top)} to ${environment}`,
      );
      run.migrationsTouched = true;
      const applied = await guarded('migration-failure', () =>
        long.applyMigrations.executeWithOptions(
          {
            summary: `apply ${pending.length} migration(s) up to ${padVersion(top)} to ${environment}`,
          },
          [
            {
              environment,
              plan: planArgument(plan),
              appliedBy: `${initiator} (deploy ${workflowId})`,
              ...(run.authorization ? { authorization: run.authorization } : {}),
            },
          ],
        ),
      );
      tracker.complete(
        'migrate',
        `${applied.appliedCount ?? applied.applied.length} migration(s) applied; ${environment} at version ${applied.toVersion}`,
      );
    } else
      tracker.skip(
        'migrate',
        `no pending migrations (${environment} at version ${run.fromVersion})`,
      );
    checkCancel();

    // ── post-deployment verification ──
    tracker.start(
      'verify',
      `post-deployment checks on ${environment}: SELECT 1, row counts, SQL checks, health URLs`,
    );
    const verification = await guarded('verification-failure', () =>
      quick.verifyEnvironment.executeWithOptions(
        { summary: `verify ${environment}: SELECT 1, row counts, SQL checks, health URLs` },
        [{ environment, baselineRowCounts: run.baselineRowCounts }],
      ),
    );
    if (!verification.ok) throw fire('verification-failure', failedChecks(verification));
    tracker.complete('verify', summariseChecks(verification.checks));
    checkCancel();

    // ── monitoring window ──
    const windowMs = overrides.monitoringWindow ?? policy.monitoringWindowMs;
    const intervalMs = overrides.monitoringInterval ?? policy.monitoringIntervalMs;
    tracker.start(
      'monitor',
      `watching ${environment} for ${formatMs(windowMs)}, a sample every ${formatMs(intervalMs)}`,
    );
    const monitoring = await monitorDeployment({
      environment,
      // The same tables the baseline read (those of the plan that existed before it).
      tables: baseline.probeTables,
      baseline,
      thresholds: policy.thresholds,
      windowMs,
      intervalMs,
      tracker,
      stop: cancelRequested,
    });
    checkCancel();
    if (monitoring.breach) throw fire(monitoring.breach.trigger, monitoring.breach.detail);
    tracker.complete('monitor', monitoring.detail);
    return {
      finalState: 'completed',
      reason: `${environment} at version ${top}${run.appVersionAfter ? `, application ${run.appVersionAfter}` : ''}; ${monitoring.samples} monitoring sample(s) within thresholds over ${formatMs(windowMs)}`,
    };
  }

  let ending: Ending | undefined;
  let refusal: ApplicationFailure | undefined;
  let cancelled: unknown;
  try {
    ending = await deploy();
  } catch (error) {
    if (isCancellation(error)) cancelled = error;
    const described = describeFailure(error);
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    log.warn('deploy failed', { workflowId, type: described.type, message: described.message });
    if (hasChanges(run) || run.trigger) {
      run.trigger ??= {
        kind: cancelled ? 'cancelled' : 'unexpected-failure',
        detail: described.message,
      };
      const trigger = run.trigger;
      const compensation = await CancellationScope.nonCancellable(() =>
        compensateDeploy(run, tracker),
      );
      ending = {
        finalState: compensation.ok ? 'rolled-back' : 'failed-needs-attention',
        reason: `${TRIGGER_LABELS[trigger.kind]}: ${trigger.detail}`,
      };
    } else if (cancelled) {
      ending = {
        finalState: 'rejected',
        reason: 'the workflow was cancelled before any change was made',
      };
    } else {
      refusal = ApplicationFailure.create({
        type: described.type,
        message: `deploy to ${environment} refused, nothing was changed: ${described.message}`,
        nonRetryable: true,
      });
    }
  }

  try {
    return await finishDeploy(
      { environment, plan, initiator, workflowId, top, tracker, run, gate, tell, record },
      { ...(ending ? { ending } : {}), ...(refusal ? { refusal } : {}), cancelled },
      {
        ...(waiver ? { waiver } : {}),
        highRisk: (validation?.highRisk ?? false) || options.highRisk === true,
        riskReasons: validation?.riskReasons ?? [],
      },
    );
  } finally {
    // After compensation and the deployment record: the next holder finds both.
    await lease.release();
  }
}
