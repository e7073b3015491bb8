import { setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { PgshiftPhase } from '../src/temporal/search-attribute-keys';
import { progressQuery, type Progress, type Step, type WorkflowKind } from './definitions';
import { STEP_ICON } from './step-icons';

/**
 * The steps of a run as the `progress` query, the Web UI's current details and the
 * PgshiftPhase search attribute show them. Workflow time (`new Date()`) is deterministic.
 */
export class ProgressTracker {
  readonly progress: Progress;

  constructor(workflowKind: WorkflowKind, environment: string, stepNames: string[]) {
    this.progress = {
      workflowKind,
      environment,
      phase: 'starting',
      steps: stepNames.map((name) => ({ name, status: 'pending' })),
      currentDetails: '',
    };
    setHandler(progressQuery, () => this.progress);
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
