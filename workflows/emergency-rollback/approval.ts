import { initialApprovalState, isFullyApproved, type SignatureContext } from '../approval-policy';
import { ApprovalGate, ROLLBACK_APPROVAL, type CloseReasons } from '../deploy-approval-gate';
import { EMERGENCY_APPROVER_ROLE, type ApprovalState } from '../definitions';
import type { ProgressTracker } from '../progress-tracker';
import type { EmergencyPolicy } from '../../activities/impact';
import { refuse, type ApprovalFacts, type Incident } from './incident';

const CLOSED: CloseReasons = (outcome, state) =>
  outcome === 'approved'
    ? 'the rollback was already approved'
    : `the approval window closed at ${state.expiresAt}`;

/** Who acts, where, and how to tell people: what the approval step needs from the run. */
export interface ApprovalRun {
  environment: string;
  initiator: string;
  workflowId: string;
  tracker: ProgressTracker;
  incident: Incident;
  policy: EmergencyPolicy;
  notify: (
    title: string,
    text: string,
    severity: 'info' | 'success' | 'warning' | 'critical',
    fields?: Record<string, string>,
  ) => Promise<void>;
}

/**
 * The one approval a data-losing emergency rollback needs in production, through the deploy's
 * ApprovalGate (same pure policy for signal and update; refusals recorded). Its handlers are
 * registered when it is constructed, before the workflow's first await. Break-glass replaces
 * the approval and is recorded and notified.
 */
export class RollbackApproval {
  private readonly gate: ApprovalGate;
  private readonly before: ApprovalState;
  private opened = false;
  private grantsNoted = 0;
  private passed = false;
  private required = false;
  private waitedMs = 0;
  private skipReason = 'not needed: no table or column holding data is dropped';
  private readonly breakGlass?: { reason: string; by: string; skippedApproval: boolean };
  private reload: (() => Promise<SignatureContext>) | undefined;

  constructor(
    private readonly incident: Incident,
    breakGlass: { reason: string } | undefined,
  ) {
    const { initiator, startedMs } = incident.header;
    this.before = initialApprovalState([EMERGENCY_APPROVER_ROLE], startedMs);
    this.breakGlass = breakGlass
      ? { reason: breakGlass.reason, by: initiator, skippedApproval: false }
      : undefined;
    this.gate = new ApprovalGate((state) => this.noteGrants(state), ROLLBACK_APPROVAL, CLOSED);
  }

  /**
   * Opens the window: `approvers` may approve until `expiresAt`. With `signed`, approvals are
   * signed statements checked against the approver keys (bound to the plan the run names).
   */
  open(
    approvers: string[],
    expiresAt: number,
    signed?: {
      signatures: SignatureContext;
      planChecksum?: string;
      reload: () => Promise<SignatureContext>;
    },
  ): void {
    this.opened = true;
    this.reload = signed?.reload;
    this.gate.open({
      initiator: this.incident.header.initiator,
      planChecksum: signed?.planChecksum ?? '',
      roster: { [EMERGENCY_APPROVER_ROLE]: approvers },
      requiredRoles: [EMERGENCY_APPROVER_ROLE],
      expiresAt,
      ...(signed ? { signatures: signed.signatures } : {}),
    });
  }

  /** New approver keys (a config reload): a revoked key's approval stops counting. */
  refreshSignatures(signatures: SignatureContext): void {
    this.gate.refreshSignatures(signatures);
  }

  get signatures(): SignatureContext | undefined {
    return this.gate.signatures;
  }

  /** Refuses (and records) every later attempt. */
  close(reason: string): void {
    this.gate.close(reason);
  }

  get state(): ApprovalState {
    return this.opened ? this.gate.state : { ...this.before, refused: this.gate.state.refused };
  }

  facts(): ApprovalFacts {
    return {
      approval: this.state,
      approvalRequired: this.required,
      approvalWaitMs: this.waitedMs,
      ...(this.breakGlass ? { breakGlass: { ...this.breakGlass } } : {}),
    };
  }

  /** Marks the approval step skipped when no data-losing step asked for it. */
  skipUnlessRequired(tracker: ProgressTracker): void {
    if (!this.required) tracker.skip('approval', this.skipReason);
  }

  /** Waits for one approval (or uses break-glass) before a data-losing step in production. */
  async require(run: ApprovalRun, losesData: boolean, why: string): Promise<void> {
    const { policy, environment, initiator, tracker, incident } = run;
    if (this.passed || !losesData) return;
    if (!policy.production || !policy.requireApprovalForDataLoss) {
      const because = policy.production
        ? 'emergency.requireApprovalForDataLoss is false'
        : `${environment} is not a production environment`;
      this.skipReason = `not needed: ${because}`;
      incident.note(`data-losing step allowed without approval (${because}): ${why}`);
      this.passed = true;
      return;
    }
    this.required = true;
    if (this.breakGlass) {
      this.breakGlass.skippedApproval = true;
      this.passed = true;
      tracker.complete('approval', `break-glass by ${initiator}: ${this.breakGlass.reason}`);
      incident.note(
        `BREAK-GLASS by ${initiator} instead of an approval: ${this.breakGlass.reason}`,
      );
      await run.notify(
        `Break-glass emergency rollback on ${environment}`,
        `${initiator} skipped the data-loss approval: ${this.breakGlass.reason}\n${why}`,
        'critical',
        { 'Break-glass by': initiator, Reason: this.breakGlass.reason },
      );
      return;
    }
    const state = this.gate.state;
    if (!isFullyApproved(state)) {
      const waitStarted = Date.now();
      tracker.start(
        'approval',
        `waiting for one approval (signal approveRollback) from ${policy.approvers.join(', ') || 'nobody: set emergency.approvers'} until ${state.expiresAt}: ${why}`,
      );
      incident.note(`approval needed: ${why}`);
      await run.notify(
        `Approval needed: emergency rollback on ${environment}`,
        `${why}\nApprove with \`temporal workflow signal --workflow-id ${run.workflowId} --name approveRollback --input '{"approver":"<name>"}'\`.`,
        'warning',
        { Approvers: policy.approvers.join(', '), Expires: state.expiresAt },
      );
      const outcome = await this.gate.wait({
        reminderEveryMs: Number.POSITIVE_INFINITY,
        remind: async () => undefined,
        stop: () => false,
        summary: 'waiting for the data-loss approval (approveRollback)',
        ...(this.reload ? { reloadKeys: this.reload } : {}),
      });
      this.waitedMs += Date.now() - waitStarted;
      if (outcome !== 'approved')
        throw refuse(
          `no approval of the data-losing rollback before ${this.gate.state.expiresAt}: nothing was changed`,
        );
    }
    const granted = this.gate.state.granted[this.gate.state.granted.length - 1];
    tracker.complete('approval', `approved by ${granted.approver} at ${granted.at}`);
    this.passed = true;
  }

  private noteGrants(state: ApprovalState): void {
    for (const grant of state.granted.slice(this.grantsNoted))
      this.incident.note(
        `approval granted by ${grant.approver}${grant.comment ? `: ${grant.comment}` : ''}`,
      );
    this.grantsNoted = state.granted.length;
  }
}
