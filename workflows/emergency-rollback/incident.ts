import { isCancellation, log, type ApplicationFailure } from '@temporalio/workflow';
import type {
  ApprovalState,
  EmergencyRollbackResult,
  RollbackDecision,
  RollbackFinalState,
  RollbackType,
  Step,
} from '../definitions';
import { describeFailure, stepFailure } from '../failures';
import {
  compareWithGuide,
  incidentMarkdown,
  type IncidentFacts,
  type TimelineEvent,
} from '../incident-report';
import type { ProgressTracker } from '../progress-tracker';

/** The failure type of a rollback that was refused before anything changed. */
export const REFUSED = 'RollbackRefused';

/** What is known when the run starts. */
export interface IncidentHeader {
  incidentId: string;
  workflowId: string;
  environment: string;
  initiator: string;
  startedMs: number;
  type: RollbackType;
  decision: RollbackDecision;
  decisionSource: 'operator' | 'decision matrix';
  issue?: string;
  severity?: string;
  description?: string;
}

/** What the steps learn as they run. */
export type LearnedFacts = Pick<
  IncidentFacts,
  | 'impact'
  | 'restoreLoss'
  | 'method'
  | 'fromVersion'
  | 'toVersion'
  | 'emergencyBackupId'
  | 'preserved'
  | 'restoredBackupId'
  | 'app'
  | 'verification'
  | 'watch'
>;

/** What the approval gate contributes. */
export interface ApprovalFacts {
  approval: ApprovalState;
  approvalRequired: boolean;
  approvalWaitMs: number;
  breakGlass?: { reason: string; by: string; skippedApproval: boolean };
}

/**
 * One emergency rollback's facts and timeline, from the decision to the end. It is the single
 * source of both the incident document and the workflow's result.
 */
export class Incident {
  private readonly timeline: TimelineEvent[] = [];
  private readonly learned: Partial<LearnedFacts> = {};
  private state: RollbackFinalState = 'completed';
  private why: string | undefined;
  private changedAnything = false;
  private cancellation: unknown;
  private postMortemDue: string | undefined;
  private endedMs: number | undefined;

  constructor(readonly header: IncidentHeader) {}

  get facts(): Readonly<Partial<LearnedFacts>> {
    return this.learned;
  }
  get finalState(): RollbackFinalState {
    return this.state;
  }
  get reason(): string | undefined {
    return this.why;
  }
  get changed(): boolean {
    return this.changedAnything;
  }
  /** True when the run did something (it was not refused, and a rollback type was chosen). */
  get executed(): boolean {
    return this.header.type !== 'none' && this.state !== 'refused';
  }
  get postMortem(): string | undefined {
    return this.postMortemDue;
  }

  learn(facts: Partial<LearnedFacts>): void {
    Object.assign(this.learned, facts);
  }

  /** A line of the timeline (and of the log); `at` for an event an activity reported. */
  note(text: string, at?: string): void {
    this.timeline.push({ at: at ?? new Date().toISOString(), text });
    log.info(text, { incidentId: this.header.incidentId });
  }

  /** From now on the environment differs from how the rollback found it. */
  markChanged(): void {
    this.changedAnything = true;
  }

  conclude(finalState: RollbackFinalState, reason?: string): void {
    this.state = finalState;
    if (reason !== undefined) this.why = reason;
  }

  /** A cancellation the run absorbed to finish cleanly; rethrown at the very end. */
  absorbCancellation(error: unknown): void {
    this.cancellation = error;
  }

  /** An error that ended the rollback's steps: refused when nothing had changed yet. */
  interrupt(error: unknown, tracker: ProgressTracker): void {
    const described = describeFailure(error);
    if (isCancellation(error)) this.cancellation = error;
    const cancelledEarly = !!this.cancellation && !this.changedAnything;
    this.state = described.type === REFUSED || cancelledEarly ? 'refused' : 'failed';
    this.why = cancelledEarly ? 'cancelled before anything was changed' : described.message;
    const running = tracker.running();
    if (running) tracker.fail(running.name, described.message);
    this.note(`${this.state}: ${this.why}`);
  }

  /** The cancellation the run absorbed to finish cleanly (rethrown at the very end). */
  get cancelled(): unknown {
    return this.cancellation;
  }

  schedulePostMortem(dueMs: number): void {
    this.postMortemDue = new Date(dueMs).toISOString();
  }

  /** The run's end (the time the incident document states). */
  end(): void {
    this.endedMs = Date.now();
  }

  private get durationMs(): number {
    return (this.endedMs ?? Date.now()) - this.header.startedMs;
  }

  /** "took 42 s; guide's target for …": execution time, approval wait excluded. */
  timing(approval: ApprovalFacts): string {
    return compareWithGuide(
      Math.max(0, this.durationMs - approval.approvalWaitMs),
      this.header.type,
      this.header.decision.expectedTime,
    );
  }

  document(steps: Step[], approval: ApprovalFacts): string {
    const { startedMs, ...header } = this.header;
    const endedMs = this.endedMs ?? Date.now();
    return incidentMarkdown({
      ...header,
      finalState: this.state,
      ...(this.why ? { reason: this.why } : {}),
      startedAt: new Date(startedMs).toISOString(),
      endedAt: new Date(endedMs).toISOString(),
      durationMs: endedMs - startedMs,
      timeline: this.timeline,
      steps,
      ...this.learned,
      ...approval,
      ...(this.postMortemDue ? { postMortemDue: this.postMortemDue } : {}),
    });
  }

  result(
    steps: Step[],
    approval: ApprovalFacts,
    written: { incidentPath?: string; incidentMarkdown?: string } = {},
  ): EmergencyRollbackResult {
    const f = this.learned;
    const { breakGlass } = approval;
    return {
      finalState: this.state,
      environment: this.header.environment,
      type: this.header.type,
      decision: this.header.decision,
      ...(this.why ? { reason: this.why } : {}),
      steps,
      ...(f.fromVersion !== undefined ? { fromVersion: f.fromVersion } : {}),
      ...(f.toVersion !== undefined ? { toVersion: f.toVersion } : {}),
      ...(breakGlass ? { breakGlass: { reason: breakGlass.reason, by: breakGlass.by } } : {}),
      durationMs: this.durationMs,
      incidentId: this.header.incidentId,
      timing: this.timing(approval),
      approval: approval.approval,
      approvalRequired: approval.approvalRequired,
      ...(f.impact ? { impact: f.impact } : {}),
      ...(f.method ? { method: f.method } : {}),
      ...(f.emergencyBackupId ? { emergencyBackupId: f.emergencyBackupId } : {}),
      ...(f.restoredBackupId ? { restoredBackupId: f.restoredBackupId } : {}),
      ...(f.app ? { app: f.app } : {}),
      ...(f.verification ? { verification: f.verification } : {}),
      ...(f.watch ? { watch: f.watch } : {}),
      ...(this.postMortemDue ? { postMortemDue: this.postMortemDue } : {}),
      ...(written.incidentPath ? { incidentPath: written.incidentPath } : {}),
      ...(f.preserved
        ? {
            preservedDatabase: f.preserved.database,
            archiveWorkflowId: f.preserved.archiveWorkflowId,
          }
        : {}),
      ...(written.incidentMarkdown ? { incidentMarkdown: written.incidentMarkdown } : {}),
    };
  }
}

/** A rollback refused before anything changed (final state `refused`). */
export function refuse(message: string): ApplicationFailure {
  return stepFailure(REFUSED, message);
}
