import { allHandlersFinished, condition } from '@temporalio/workflow';
import { quick } from '../activity-proxies';
import { describeFailure } from '../failures';
import type { ProgressTracker } from '../progress-tracker';

/**
 * The end of every run (rehearsal, deploy, emergency rollback), in three steps the workflows
 * call in their order: skip the steps the run did not reach, write the report, then finish
 * the progress and rethrow a cancellation the run absorbed to end cleanly.
 */

/** Every step still pending, except the ones the end itself runs, is skipped with `reason`. */
export function skipPendingSteps(
  tracker: ProgressTracker,
  reason: string,
  except: readonly string[],
): void {
  for (const step of tracker.progress.steps)
    if (step.status === 'pending' && !except.includes(step.name)) tracker.skip(step.name, reason);
}

export interface RunReport {
  workflowId: string;
  kind: 'deploy' | 'rehearsal' | 'incident';
  /** The activity's summary in the Web UI. */
  summary: string;
  markdown: string;
  data: unknown;
}

/**
 * Writes the run's report (Markdown, with its data beside it) and completes `step` with its
 * path. A report that cannot be written fails `step` and the run goes on (undefined), unless
 * it is `required`: then the failure ends the run.
 */
export async function writeRunReport(
  tracker: ProgressTracker,
  step: string,
  report: RunReport,
  options: { required?: boolean } = {},
): Promise<string | undefined> {
  const { summary, ...request } = report;
  try {
    const written = await quick.writeReport.executeWithOptions({ summary }, [request]);
    tracker.complete(step, written.path);
    return written.path;
  } catch (error) {
    tracker.fail(step, describeFailure(error).message);
    if (options.required) throw error;
    return undefined;
  }
}

/**
 * Finishes the progress with the final state, lets running update handlers answer when asked
 * (`waitForHandlers`), then rethrows the cancellation the run absorbed (or the refusal that
 * ends it), if any.
 */
export async function finishRun(
  tracker: ProgressTracker,
  end: { finalState: string; detail: string; rethrow?: unknown; waitForHandlers?: boolean },
): Promise<void> {
  tracker.finish(end.finalState, end.detail);
  if (end.waitForHandlers) await condition(allHandlersFinished);
  if (end.rethrow) throw end.rethrow;
}
