import { planArgument } from '../../src/migrations/plan-ref';
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftPhase,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import { quick } from '../activity-proxies';
import { missingRoles, requiredRolesFor } from '../approval-policy';
import { ApprovalGate } from '../deploy-approval-gate';
import { durationOption, formatMs } from '../deploy-options';
import { describeFailure } from '../failures';
import { validationFailure } from '../text';
import { fleetDatabaseDeploy } from './database-deploy';
import {
  FLEET_DATABASE_WORKFLOW_TYPE,
  fleetChildWorkflowId,
  fleetMembershipQuery,
  fleetOverviewQuery,
  resumeFleetSignal,
  rollbackFleetSignal,
  type FleetCarried,
  type FleetDatabase,
  type FleetDecision,
  type FleetDeployInput,
  type FleetDeployResult,
  type FleetFinalState,
  type FleetMode,
} from './definitions';
import { FleetProgress, waveRange } from './fleet-progress';

const DEFAULT_CHILDREN_PER_RUN = 400;

/**
 * `pgshift deploy --fleet <name>`: one plan rolled out to every database of a fleet.
 * One approval gate for the whole fleet → waves (cumulative sizes over the members in order),
 * each wave a pool of child workflows (`fleetDatabaseDeploy`, the production deploy's steps)
 * at most `concurrency` at a time → between waves a pause or an approval (`resumeFleet`).
 * When more databases fail than the failure budget allows, no new database and no later wave
 * starts: the rollout is `halted` (failed databases were compensated by their children,
 * finished ones stay) until `resumeFleet` (failed databases are tried again, the budget
 * counts afresh) or `rollbackFleet` (deployed databases return to their version, waves in
 * reverse). After the last wave the run stays open for `rollbackWindow`, then completes.
 *
 * The run continues as new after `childrenPerRun` children (or when Temporal suggests it),
 * always between children, carrying the state of every database: a fleet of 10 000
 * databases fits the history limits. Only a continued run accepts carried state.
 */
export async function fleetDeploy(input: FleetDeployInput): Promise<FleetDeployResult> {
  const { fleet, plan, initiator } = input;
  const startInfo = workflowInfo();
  if (input.carried && !startInfo.continuedFromExecutionRunId)
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      nonRetryable: true,
      message: `fleet rollout input carries the state of an earlier run, but this run was not continued as new: start a rollout with \`pgshift deploy --fleet ${fleet}\``,
    });
  const childrenPerRun = input.options?.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
  let state: FleetCarried | undefined = input.carried;
  const index = new Map<string, number>();
  const requests: FleetDecision[] = [];
  let childrenThisRun = 0;
  let running = 0;
  const progress = new FleetProgress(fleet, () => state);

  // ── handlers first: nothing sent early is lost ──
  const gate = new ApprovalGate(() => progress.show('waiting for approvals'));
  if (state) {
    gate.state = state.approvals;
    gate.close('the fleet rollout was approved');
  }
  setHandler(resumeFleetSignal, (decision) => {
    requests.push({ ...decision, kind: 'resume' });
  });
  setHandler(rollbackFleetSignal, (decision) => {
    requests.push({ ...decision, kind: 'rollback' });
  });
  setHandler(fleetMembershipQuery, (environment) => ({
    fleet,
    planChecksum: plan.checksum,
    initiator,
    mode: modeOf(state?.stage),
    member: index.has(environment),
    approvals: state?.approvals ?? gate.state,
  }));
  setHandler(fleetOverviewQuery, () => progress.overview());

  const setStage = (stage: FleetCarried['stage'], details: string) => {
    state!.stage = stage;
    upsertSearchAttributes([{ key: PgshiftPhase, value: stage }]);
    progress.show(details);
  };

  if (!state) {
    const loaded = await quick.loadFleet.executeWithOptions(
      { summary: `load fleet ${fleet} and its members` },
      [{ fleet }],
    );
    const validation = await quick.validatePlan.executeWithOptions(
      {
        summary: `validate ${plan.migrations.length} migrations, plan ${plan.checksum.slice(0, 12)}`,
      },
      [{ plan: planArgument(plan) }],
    );
    if (validation.errors.length) throw validationFailure(validation.errors);
    const highRisk = validation.highRisk;
    state = {
      stage: 'approving',
      settings: loaded.settings,
      databases: loaded.members.map((environment) => ({
        environment,
        status: 'pending',
        attempts: 0,
      })),
      approvals: gate.state,
      wave: 0,
      waveOpened: true,
      failures: 0,
      highRisk,
      decisions: [],
      roster: loaded.approvals.roster,
    };
    state.databases.forEach((db, i) => index.set(db.environment, i));
    const expiryMs =
      durationOption(input.options?.approvalExpiry, 'options.approvalExpiry') ??
      loaded.approvals.expiryMs;
    gate.open({
      initiator,
      planChecksum: plan.checksum,
      roster: loaded.approvals.roster,
      requiredRoles: requiredRolesFor(loaded.approvals, { highRisk }),
      expiresAt: Date.now() + expiryMs,
      allowInitiator: loaded.approvals.allowInitiator,
    });
    setStage(
      'approving',
      `waiting for ${missingRoles(gate.state).join(', ') || 'no approvals'} to roll plan \`${plan.checksum.slice(0, 12)}\` out to ${loaded.members.length} databases`,
    );
    const outcome = await gate.wait({
      reminderEveryMs: loaded.approvals.reminderEveryMs,
      remind: async () => undefined,
      stop: () => false,
    });
    state.approvals = gate.state;
    if (outcome !== 'approved') {
      const reason =
        outcome === 'rejected'
          ? `rejected by ${gate.state.rejected?.approver}: ${gate.state.rejected?.reason}`
          : `the approval window closed with ${missingRoles(gate.state).join(', ')} missing; nothing was changed`;
      return finish(outcome === 'rejected' ? 'rejected' : 'approval-expired', reason);
    }
    setStage('rolling-out', 'approved: rolling out');
  } else state.databases.forEach((db, i) => index.set(db.environment, i));

  const s = state;
  const timeToContinue = () =>
    childrenThisRun >= childrenPerRun || workflowInfo().continueAsNewSuggested;

  /** Takes the next request of `kinds` from someone on the roster; others are refused and kept. */
  const takeRequest = (kinds: FleetDecision['kind'][]): FleetDecision | undefined => {
    while (requests.length) {
      const request = requests.shift()!;
      const at = new Date().toISOString();
      const onRoster = Object.values(s.roster).some((people) =>
        people.some((p) => p === '*' || p.toLowerCase() === String(request.by).toLowerCase()),
      );
      const refused = !kinds.includes(request.kind)
        ? `a ${request.kind} is not possible while the rollout is ${s.stage}`
        : !onRoster
          ? `${request.by} is not on the approvals roster of fleet ${fleet}`
          : undefined;
      s.decisions = [...s.decisions, { ...request, at, ...(refused ? { refused } : {}) }].slice(
        -50,
      );
      if (refused) log.warn('fleet decision refused', { by: request.by, refused });
      else return request;
    }
    return undefined;
  };

  /** Runs the children of one wave, `concurrency` at a time. Returns false to continue as new. */
  async function runWave(wave: number, mode: FleetMode): Promise<boolean> {
    const [start, end] = waveRange(s.settings.waves, wave);
    const eligible: number[] = [];
    for (let i = start; i < end; i++)
      if (s.databases[i].status === (mode === 'deploy' ? 'pending' : 'deployed')) eligible.push(i);
    if (mode === 'rollback') eligible.reverse();
    const overBudget = () => mode === 'deploy' && s.failures > s.settings.allowance;
    let stopped = false;
    for (const i of eligible) {
      await condition(() => running < s.settings.concurrency);
      if (overBudget()) break;
      if (timeToContinue()) {
        stopped = true;
        break;
      }
      running++;
      childrenThisRun++;
      void runDatabase(s.databases[i], mode).finally(() => {
        running--;
        progress.show(`${mode === 'deploy' ? 'rolling out' : 'rolling back'} wave ${wave + 1}`);
      });
    }
    await condition(() => running === 0);
    return !stopped;
  }

  async function runDatabase(db: FleetDatabase, mode: FleetMode): Promise<void> {
    db.status = 'running';
    db.attempts++;
    const workflowId = fleetChildWorkflowId(
      startInfo.workflowId,
      db.environment,
      mode,
      db.attempts,
    );
    try {
      const result = await executeChild(fleetDatabaseDeploy, {
        workflowId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        typedSearchAttributes: [
          { key: PgshiftEnvironment, value: db.environment },
          { key: PgshiftWorkflowKind, value: FLEET_DATABASE_WORKFLOW_TYPE },
          { key: PgshiftInitiator, value: initiator },
        ],
        staticSummary: `Fleet ${fleet}: ${mode} of ${db.environment}, plan ${plan.checksum.slice(0, 12)}`,
        args: [
          {
            fleet,
            environment: db.environment,
            plan,
            initiator,
            mode,
            ...(mode === 'rollback'
              ? {
                  targetVersion: db.fromVersion ?? 0,
                  ...(db.backupId ? { backupId: db.backupId } : {}),
                }
              : {}),
            ...(s.settings.monitoringWindow
              ? { monitoringWindow: s.settings.monitoringWindow }
              : {}),
            ...(s.settings.monitoringInterval
              ? { monitoringInterval: s.settings.monitoringInterval }
              : {}),
          },
        ],
      });
      if (mode === 'deploy') {
        db.fromVersion = result.fromVersion;
        if (result.backupId) db.backupId = result.backupId;
        else delete db.backupId;
      }
      db.status =
        result.outcome === 'deployed' || result.outcome === 'rolled-back'
          ? result.outcome
          : mode === 'rollback'
            ? 'rollback-failed'
            : result.outcome;
      if (db.status === 'deployed' || db.status === 'rolled-back') delete db.reason;
      else db.reason = result.reason.slice(0, 300);
    } catch (error) {
      db.status = mode === 'deploy' ? 'failed' : 'rollback-failed';
      db.reason = describeFailure(error).message.slice(0, 300);
    }
    if (mode === 'deploy' && db.status !== 'deployed') s.failures++;
  }

  /** Between two waves: a pause, an approval, or nothing, as configured. */
  async function openWave(): Promise<'go' | 'rollback'> {
    const between = s.settings.betweenWaves;
    if (between === 'continue' && !requests.length) return 'go';
    setStage(
      'between-waves',
      `wave ${s.wave} done; ${typeof between === 'number' ? `pausing ${formatMs(between)} before wave ${s.wave + 1}` : `waiting for \`pgshift fleet resume ${fleet}\` to start wave ${s.wave + 1}`}`,
    );
    if (typeof between === 'number' && !(await condition(() => requests.length > 0, between)))
      return 'go';
    for (;;) {
      await condition(() => requests.length > 0);
      const request = takeRequest(['resume', 'rollback']);
      if (request) return request.kind === 'rollback' ? 'rollback' : 'go';
    }
  }

  async function carryOn(): Promise<never> {
    progress.show('continuing as new (history kept small)');
    return continueAsNew<typeof fleetDeploy>({ ...input, carried: s });
  }

  function finish(finalState: FleetFinalState, reason: string): FleetDeployResult {
    if (state) setStage(state.stage, reason);
    upsertSearchAttributes([{ key: PgshiftPhase, value: finalState }]);
    const result = { fleet, finalState, reason, ...progress.summary() };
    setCurrentDetails(`**${finalState}** — ${reason}\n\n${progress.markdown()}`);
    return result;
  }

  for (;;) {
    if (s.stage === 'rolling-out' || s.stage === 'between-waves') {
      for (; s.wave < s.settings.waves.length; s.wave++, s.waveOpened = false) {
        if (!s.waveOpened) {
          if ((await openWave()) === 'rollback') break;
          s.waveOpened = true;
          setStage('rolling-out', `rolling out wave ${s.wave + 1}`);
        }
        if (!(await runWave(s.wave, 'deploy'))) await carryOn();
        if (s.failures > s.settings.allowance) break;
      }
      if (s.stage === 'between-waves') {
        s.wave = Math.max(0, s.wave - 1);
        setStage('rolling-back', 'rollback requested between waves');
      } else if (s.failures > s.settings.allowance)
        setStage(
          'halted',
          `halted in wave ${s.wave + 1}: ${s.failures} database(s) failed, the budget allows ${s.settings.allowance}. \`pgshift fleet resume ${fleet}\` tries them again; \`pgshift rollback --fleet ${fleet}\` reverses the rollout`,
        );
      else {
        s.wave = s.settings.waves.length - 1;
        s.rolledOutAt ??= Date.now();
        setStage(
          'rolled-out',
          `every wave rolled out; \`pgshift rollback --fleet ${fleet}\` reverses it until ${new Date(s.rolledOutAt + s.settings.rollbackWindowMs).toISOString()}`,
        );
      }
    } else if (s.stage === 'halted') {
      await condition(() => requests.length > 0);
      const request = takeRequest(['resume', 'rollback']);
      if (!request) continue;
      if (request.kind === 'resume') {
        for (const db of s.databases) if (db.status === 'failed') db.status = 'pending';
        s.failures = 0;
        s.waveOpened = true;
        setStage('rolling-out', `resumed by ${request.by}: rolling out wave ${s.wave + 1}`);
      } else setStage('rolling-back', `rollback requested by ${request.by}`);
    } else if (s.stage === 'rolled-out') {
      const left = s.rolledOutAt! + s.settings.rollbackWindowMs - Date.now();
      if (left > 0 && !(await condition(() => requests.length > 0, left))) continue;
      const request = left > 0 ? takeRequest(['rollback']) : undefined;
      if (left <= 0) return finish('completed', progress.outcome('rolled out'));
      if (request) setStage('rolling-back', `rollback requested by ${request.by}`);
    } else if (s.stage === 'rolling-back') {
      for (; s.wave >= 0; s.wave--) {
        progress.show(`rolling back wave ${s.wave + 1}`);
        if (!(await runWave(s.wave, 'rollback'))) await carryOn();
      }
      return finish('rolled-back', progress.outcome('rolled back'));
    } else throw ApplicationFailure.nonRetryable(`unexpected stage ${s.stage}`, 'InvalidInput');
  }
}

function modeOf(stage: FleetCarried['stage'] | undefined): FleetMode | null {
  if (stage === 'rolling-out') return 'deploy';
  if (stage === 'rolling-back') return 'rollback';
  return null;
}
