import {
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { PgshiftPhase } from '../../src/temporal/search-attribute-keys';
import { checkSignedDecision } from '../approval-signatures';
import { ApprovalGate } from '../deploy-approval-gate';
import { authorizationOf, RunSignatures } from '../signed-approvals';
import {
  fleetMembershipQuery,
  fleetOverviewQuery,
  resumeFleetSignal,
  rollbackFleetSignal,
  type FleetCarried,
  type FleetDecision,
  type FleetDeployInput,
  type FleetDeployResult,
  type FleetFinalState,
  type FleetMode,
} from './definitions';
import { FleetProgress } from './fleet-progress';

const DEFAULT_CHILDREN_PER_RUN = 400;

/** Fleet rollouts started before signed fleet decisions replay without them. */
export const FLEET_SIGNED_APPROVALS_PATCH = 'fleet-signed-approvals';

/**
 * One run of a fleet rollout: its input, its message handlers (approvals gate, resume and
 * rollback requests, membership and overview queries: registered by the constructor, before
 * the first await), the carried state of every database, and the children in flight.
 */
export class FleetRun {
  readonly fleet: string;
  readonly workflowId = workflowInfo().workflowId;
  /** Set once the fleet is loaded (or carried over from the run before a continue-as-new). */
  private carried: FleetCarried | undefined;
  private readonly index = new Map<string, number>();
  private readonly requests: FleetDecision[] = [];
  private readonly childrenPerRun: number;
  private childrenThisRun = 0;
  /** Children running now. */
  running = 0;
  readonly progress: FleetProgress;
  readonly gate: ApprovalGate;
  /** The fleet's approver keys (absent in runs started before signed fleet decisions). */
  readonly keys: RunSignatures | undefined;

  constructor(readonly input: FleetDeployInput) {
    const { fleet, plan, initiator } = input;
    if (input.carried && !workflowInfo().continuedFromExecutionRunId)
      throw ApplicationFailure.create({
        type: 'InvalidInput',
        nonRetryable: true,
        message: `fleet rollout input carries the state of an earlier run, but this run was not continued as new: start a rollout with \`pgshift deploy --fleet ${fleet}\``,
      });
    this.fleet = fleet;
    this.childrenPerRun = input.options?.childrenPerRun ?? DEFAULT_CHILDREN_PER_RUN;
    this.progress = new FleetProgress(fleet, () => this.carried);
    // ── handlers first: nothing sent early is lost ──
    this.gate = new ApprovalGate(() => this.progress.show('waiting for approvals'));
    this.keys = patched(FLEET_SIGNED_APPROVALS_PATCH)
      ? new RunSignatures({ fleet }, this.gate, true)
      : undefined;
    if (input.carried) {
      this.begin(input.carried);
      this.gate.state = input.carried.approvals;
      this.gate.close('the fleet rollout was approved');
    }
    setHandler(resumeFleetSignal, (decision) => {
      this.requests.push({ ...decision, kind: 'resume' });
    });
    setHandler(rollbackFleetSignal, (decision) => {
      this.requests.push({ ...decision, kind: 'rollback' });
    });
    setHandler(fleetMembershipQuery, (environment) => ({
      fleet,
      planChecksum: plan.checksum,
      initiator,
      mode: modeOf(this.carried?.stage),
      member: this.index.has(environment),
      approvals: this.carried?.approvals ?? this.gate.state,
      ...(this.carried?.signed
        ? { authorization: authorizationOf('deploy', input, this.carried.approvals) }
        : {}),
    }));
    setHandler(fleetOverviewQuery, () => this.progress.overview());
  }

  get started(): boolean {
    return this.carried !== undefined;
  }

  /** The state of every database (once the fleet is loaded). */
  get state(): FleetCarried {
    if (!this.carried) throw ApplicationFailure.nonRetryable('fleet not loaded yet', 'Bug');
    return this.carried;
  }

  /** Takes the fleet's state (loaded now, or carried over) and indexes its members. */
  begin(state: FleetCarried): void {
    this.carried = state;
    state.databases.forEach((db, i) => this.index.set(db.environment, i));
  }

  setStage(stage: FleetCarried['stage'], details: string): void {
    this.state.stage = stage;
    upsertSearchAttributes([{ key: PgshiftPhase, value: stage }]);
    this.progress.show(details);
  }

  /** Counts a child started; true when this run should hand over to a new one first. */
  timeToContinue(): boolean {
    return this.childrenThisRun >= this.childrenPerRun || workflowInfo().continueAsNewSuggested;
  }

  childStarted(): void {
    this.running++;
    this.childrenThisRun++;
  }

  get hasRequests(): boolean {
    return this.requests.length > 0;
  }

  /** Waits for a resume or rollback request (of `kinds`) from someone on the roster. */
  async nextRequest(kinds: FleetDecision['kind'][]): Promise<FleetDecision> {
    for (;;) {
      await condition(() => this.requests.length > 0);
      const request = await this.takeRequest(kinds);
      if (request) return request;
    }
  }

  /**
   * Takes the next request of `kinds` from someone on the roster, signed (`fleet-resume`,
   * `fleet-rollback`) by a key of the fleet's allowed signers, read now, when the fleet
   * requires signatures; others are refused and recorded.
   */
  async takeRequest(kinds: FleetDecision['kind'][]): Promise<FleetDecision | undefined> {
    const s = this.state;
    const signatures = s.signed && this.keys ? await this.keys.reload() : undefined;
    while (this.requests.length) {
      const { statement, signature, ...request } = this.requests.shift()!;
      const at = new Date().toISOString();
      const onRoster = Object.values(s.roster).some((people) =>
        people.some((p) => p === '*' || p.toLowerCase() === String(request.by).toLowerCase()),
      );
      const check = checkSignedDecision(
        { statement, signature },
        `fleet-${request.kind}`,
        String(request.by),
        { usedNonces: s.decisions.flatMap((d) => (d.nonce ? [d.nonce] : [])) },
        { now: Date.now(), planChecksum: this.input.plan.checksum, signatures },
      );
      const signer = check.ok ? check.signer : undefined;
      const refused = !kinds.includes(request.kind)
        ? `a ${request.kind} is not possible while the rollout is ${s.stage}`
        : !onRoster
          ? `${request.by} is not on the approvals roster of fleet ${this.fleet}`
          : !check.ok
            ? `signature refused: ${check.reason}`
            : undefined;
      const fingerprint = signer?.fingerprint ?? (check.ok ? undefined : check.fingerprint);
      s.decisions = [
        ...s.decisions,
        {
          ...request,
          at,
          ...(fingerprint ? { fingerprint } : {}),
          ...(signer && !refused ? { nonce: signer.nonce } : {}),
          ...(refused ? { refused } : {}),
        },
      ].slice(-50);
      if (refused) log.warn('fleet decision refused', { by: request.by, refused });
      else return request;
    }
    return undefined;
  }

  async carryOn(): Promise<never> {
    this.progress.show('continuing as new (history kept small)');
    return continueAsNew<(input: FleetDeployInput) => Promise<FleetDeployResult>>({
      ...this.input,
      carried: this.state,
    });
  }

  finish(finalState: FleetFinalState, reason: string): FleetDeployResult {
    if (this.carried) this.setStage(this.carried.stage, reason);
    upsertSearchAttributes([{ key: PgshiftPhase, value: finalState }]);
    const result = { fleet: this.fleet, finalState, reason, ...this.progress.summary() };
    setCurrentDetails(`**${finalState}** — ${reason}\n\n${this.progress.markdown()}`);
    return result;
  }
}

function modeOf(stage: FleetCarried['stage'] | undefined): FleetMode | null {
  if (stage === 'rolling-out') return 'deploy';
  if (stage === 'rolling-back') return 'rollback';
  return null;
}
