import { condition, log, setHandler } from '@temporalio/workflow';
import {
  DEPLOY_APPROVALS,
  DEPLOY_CLOSE_REASONS,
  describePayload,
  validatePayload,
  type CloseReasons,
  type GateMessages,
  type GateOutcome,
  type Kind,
} from './approval-channels';
import {
  isFullyApproved,
  initialApprovalState,
  MAX_RECORDED_REFUSALS,
  missingRoles,
  revokeStaleGrants,
  type ApprovalContext,
  type SignatureContext,
} from './approval-policy';
import {
  approvalsQuery,
  type ApprovalState,
  type ApprovalUpdateResult,
  type RefusedApproval,
} from './definitions';

export {
  DEPLOY_APPROVALS,
  ROLLBACK_APPROVAL,
  type CloseReasons,
  type GateChannel,
  type GateMessages,
  type GateOutcome,
} from './approval-channels';

/** The policy of one deploy's approval window (everything but the current time). */
export type GateContext = Omit<ApprovalContext, 'now'>;

/**
 * The approvals gate of a production deploy (and, with ROLLBACK_APPROVAL, of a data-losing
 * emergency rollback). Signals (`approve`, `reject`: what the
 * `temporal` CLI and the Web UI send) and updates (`submitApproval`, `submitRejection`: what
 * `pgshift approve` uses for an immediate answer) go through the SAME pure policy functions.
 * Refused attempts are recorded in the state (the `approvals` query) and logged, never counted.
 *
 * Handlers are registered at once (before the workflow's first await), so nothing sent early
 * is lost: an approval that arrives while the deploy is still validating waits for the gate to
 * open; one that arrives after the gate closed is refused and recorded.
 */
export class ApprovalGate {
  state: ApprovalState = { required: [], missing: [], granted: [], refused: [], expiresAt: '' };
  private context: GateContext | undefined;
  private closedBecause: string | undefined;

  constructor(
    private readonly onChange: (state: ApprovalState) => void,
    private readonly messages: GateMessages = DEPLOY_APPROVALS,
    private readonly closeReasons: CloseReasons = DEPLOY_CLOSE_REASONS,
  ) {
    for (const kind of ['approval', 'rejection'] as const) {
      const channel = messages[kind];
      if (!channel) continue;
      setHandler(channel.signal, async (payload) => {
        await this.decide(kind, payload);
      });
      setHandler(channel.update, (payload) => this.decide(kind, payload), {
        validator: (payload) => validatePayload(kind, channel.schema, payload),
      });
    }
    setHandler(approvalsQuery, () => this.state);
  }

  /** Opens the window: from now on approvals are judged against `context`. */
  open(context: GateContext): void {
    this.context = context;
    this.state = {
      ...initialApprovalState(context.requiredRoles, context.expiresAt),
      refused: this.state.refused,
    };
    this.onChange(this.state);
  }

  /** Closes the window; later approvals are refused with `reason` (and recorded). */
  close(reason: string): void {
    this.closedBecause ??= reason;
  }

  /** The signature context the gate judges with (absent: unsigned mode, or not open yet). */
  get signatures(): SignatureContext | undefined {
    return this.context?.signatures;
  }

  /**
   * New approver keys (a config reload): from now on decisions are judged against them, and
   * approvals already granted with a key no longer allowed stop counting (recorded as refused).
   */
  refreshSignatures(signatures: SignatureContext): string[] {
    const context = this.context;
    if (!context) return [];
    this.context = { ...context, signatures };
    if (this.closedBecause !== undefined) return [];
    const { state, revoked } = revokeStaleGrants(this.state, { now: Date.now(), signatures });
    if (!revoked.length) return [];
    this.state = state;
    log.warn('approvals revoked after a key reload', { roles: revoked });
    this.onChange(this.state);
    return revoked;
  }

  /** Records a refused decision that is not an approval or rejection (a cancel). */
  recordRefusal(entry: Omit<RefusedApproval, 'at'>): void {
    this.state = {
      ...this.state,
      refused: [...this.state.refused, { ...entry, at: new Date().toISOString() }].slice(
        -MAX_RECORDED_REFUSALS,
      ),
    };
    log.warn('decision refused', { summary: entry.summary, reason: entry.reason });
    this.onChange(this.state);
  }

  get isOpen(): boolean {
    return this.context !== undefined && this.closedBecause === undefined;
  }

  /**
   * Waits until every required role is approved, someone rejects, `stop()` becomes true (a
   * cancelDeploy signal) or the window expires; sends a reminder every `reminderEveryMs`.
   */
  async wait(options: {
    reminderEveryMs: number;
    remind: (missing: string[]) => Promise<void>;
    stop: () => boolean;
    /** Shown in the Web UI beside the wait's timer. */
    summary?: string;
    /**
     * Signed approvals: re-reads the approver keys once every role is approved, before the
     * gate opens; a revoked key's approval stops counting and the wait goes on.
     */
    reloadKeys?: () => Promise<SignatureContext>;
  }): Promise<GateOutcome> {
    const context = this.context;
    if (!context) throw new TypeError('ApprovalGate.wait() before open()');
    const decided = () => isFullyApproved(this.state) || !!this.state.rejected || options.stop();
    for (;;) {
      const remaining = context.expiresAt - Date.now();
      if (remaining <= 0) break;
      const timeout = Math.max(1, Math.min(remaining, options.reminderEveryMs));
      if (
        await (options.summary
          ? condition(decided, timeout, { summary: options.summary })
          : condition(decided, timeout))
      ) {
        if (options.reloadKeys && isFullyApproved(this.state) && !options.stop()) {
          this.refreshSignatures(await options.reloadKeys());
          if (!decided()) continue;
        }
        break;
      }
      if (Date.now() < context.expiresAt) await options.remind(missingRoles(this.state));
    }
    const outcome: GateOutcome = this.state.rejected
      ? 'rejected'
      : isFullyApproved(this.state)
        ? 'approved'
        : options.stop()
          ? 'cancelled'
          : 'expired';
    this.close(this.closeReasons(outcome, this.state));
    return outcome;
  }

  private async decide(kind: Kind, payload: unknown): Promise<ApprovalUpdateResult> {
    if (!this.context && this.closedBecause === undefined)
      await condition(() => this.context !== undefined || this.closedBecause !== undefined);
    const context = this.context;
    if (this.closedBecause !== undefined || !context)
      return this.refuseLate(kind, payload, this.closedBecause ?? 'the approval gate is closed');
    const now = Date.now();
    const decision = this.messages[kind]!.evaluate(this.state, payload, { ...context, now });
    this.state = decision.state;
    if (decision.accepted)
      log.info(`${kind} accepted`, {
        ...describePayload(payload),
        missing: missingRoles(this.state),
      });
    else log.warn(`${kind} refused`, { ...describePayload(payload), reason: decision.reason });
    this.onChange(this.state);
    return decision.accepted
      ? { accepted: true, missingRoles: missingRoles(this.state) }
      : { accepted: false, reason: decision.reason, missingRoles: missingRoles(this.state) };
  }

  /** An attempt after the gate closed: refused, recorded and logged like any other. */
  private refuseLate(kind: Kind, payload: unknown, reason: string): ApprovalUpdateResult {
    const { role, approver } = describePayload(payload);
    const summary =
      kind === 'approval'
        ? role && approver
          ? `${role} by ${approver}`
          : 'malformed payload'
        : approver
          ? `rejection by ${approver}`
          : 'malformed payload';
    const entry = {
      summary,
      reason,
      at: new Date().toISOString(),
      ...(role ? { role } : {}),
      ...(approver ? { approver } : {}),
    };
    this.state = {
      ...this.state,
      refused: [...this.state.refused, entry].slice(-MAX_RECORDED_REFUSALS),
    };
    log.warn(`${kind} refused`, { role, approver, reason });
    this.onChange(this.state);
    return { accepted: false, reason, missingRoles: missingRoles(this.state) };
  }
}
