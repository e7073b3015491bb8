import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { PgshiftPhase } from '../src/temporal/search-attribute-keys';
import {
  lockWaitPayloadSchema,
  lockWaitSignal,
  progressQuery,
  type Progress,
  type Step,
  type WorkflowKind,
} from './definitions';
import { STEP_ICON } from './step-icons';

/** `12s`, `3m12s`: how long a migration has waited, in the current details. */
function waitedFor(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** Text from another session (its application_name) kept plain in Markdown: no link, tag or code. */
function plainText(text: string): string {
  return text.replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`).replace(/\s+/g, ' ');
}

/**
 * The steps of a run as the `progress` query, the Web UI's current details and the
 * PgshiftPhase search attribute show them. Workflow time (`new Date()`) is deterministic.
 *
 * While a migration waits for other sessions' locks, the apply activity says so with the
 * `lockWait` signal and the current details name the blockers until the wait ends (or the
 * step does). The handler only changes the current details and the query's answer, never a
 * command, so recorded histories replay with it registered.
 */
export class ProgressTracker {
  readonly progress: Progress;
  /** While a lock wait is shown: the current details before it, and as shown with it. */
  private lockWait?: { before: string; shown: string };

  constructor(workflowKind: WorkflowKind, environment: string, stepNames: string[]) {
    this.progress = {
      workflowKind,
      environment,
      phase: 'starting',
      steps: stepNames.map((name) => ({ name, status: 'pending' })),
      currentDetails: '',
    };
    setHandler(progressQuery, () => this.progress);
    setHandler(lockWaitSignal, (payload) => this.showLockWait(payload));
  }

  private showLockWait(raw: unknown): void {
    const parsed = lockWaitPayloadSchema.safeParse(raw);
    // A late signal of a step that is over (or a malformed one) changes nothing.
    if (!parsed.success || !this.running()) return;
    const wait = parsed.data;
    if ('ended' in wait) {
      if (this.clearLockWait()) setCurrentDetails(this.markdown());
      return;
    }
    const before =
      this.lockWait?.shown === this.progress.currentDetails
        ? this.lockWait.before
        : this.progress.currentDetails;
    const blockers = wait.blockers.length
      ? wait.blockers.map(plainText).join('; ')
      : 'sessions holding conflicting locks';
    const shown = `${before} — ⏳ ${plainText(wait.what)} waiting for ${blockers} (${waitedFor(wait.waitingForMs)}, ${wait.attempts} attempt(s))`;
    this.lockWait = { before, shown };
    this.progress.currentDetails = shown;
    setCurrentDetails(this.markdown());
  }

  /** Takes a lock wait out of the current details (unless they changed since); true when it did. */
  private clearLockWait(): boolean {
    const wait = this.lockWait;
    this.lockWait = undefined;
    if (wait?.shown !== this.progress.currentDetails) return false;
    this.progress.currentDetails = wait.before;
    return true;
  }

  private step(name: string): Step {
    let step = this.progress.steps.find((s) => s.name === name);
    if (!step) {
      step = { name, status: 'pending' };
      this.progress.steps.push(step);
    }
    return step;
  }

  /** Marks a step running, moves the phase and tells the Web UI in plain words. */
  start(name: string, details: string): void {
    const step = this.step(name);
    step.status = 'running';
    step.startedAt = new Date().toISOString();
    delete step.endedAt;
    step.detail = details;
    this.setPhase(name, details);
  }

  private end(name: string, status: Step['status'], detail?: string): void {
    if (this.clearLockWait()) setCurrentDetails(this.markdown());
    const step = this.step(name);
    step.status = status;
    step.startedAt ??= new Date().toISOString();
    step.endedAt = new Date().toISOString();
    if (detail !== undefined) step.detail = detail;
  }

  complete(name: string, detail?: string): void {
    this.end(name, 'completed', detail);
  }
  /** Completes a step that ended at a known earlier time (reported by an activity that did more). */
  completeAt(name: string, endedAt: string, detail?: string): void {
    this.end(name, 'completed', detail);
    this.step(name).endedAt = endedAt;
  }
  fail(name: string, detail: string): void {
    this.end(name, 'failed', detail);
  }
  skip(name: string, reason: string): void {
    this.end(name, 'skipped', reason);
  }
  compensated(name: string, detail: string): void {
    this.end(name, 'compensated', detail);
  }

  /** The step currently running, if any (to mark it failed when an error interrupts it). */
  running(): Step | undefined {
    return this.progress.steps.find((s) => s.status === 'running');
  }

  setPhase(phase: string, details: string): void {
    this.lockWait = undefined;
    this.progress.phase = phase;
    this.progress.currentDetails = details;
    upsertSearchAttributes([{ key: PgshiftPhase, value: phase }]);
    setCurrentDetails(this.markdown());
  }

  finish(finalState: string, details: string): void {
    this.progress.finalState = finalState;
    this.setPhase(finalState, details);
  }

  /** Current details for the Web UI: the phase in words, then every step with its status. */
  markdown(): string {
    const lines = this.progress.steps.map(
      (s) => `- ${STEP_ICON[s.status]} **${s.name}** ${s.status}${s.detail ? `: ${s.detail}` : ''}`,
    );
    return `**${this.progress.phase}** — ${this.progress.currentDetails}\n\n${lines.join('\n')}`;
  }
}
