import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';

/** The message and type of the failure behind an activity error, for reports and branching. */
export function describeFailure(error: unknown): { type: string; message: string } {
  if (isCancellation(error)) return { type: 'Cancelled', message: 'the workflow was cancelled' };
  let current: unknown = error;
  while (current instanceof ActivityFailure && current.cause) current = current.cause;
  if (current instanceof ApplicationFailure)
    return { type: current.type ?? 'ApplicationFailure', message: current.message };
  if (current instanceof Error) return { type: current.name, message: current.message };
  return { type: 'Error', message: String(error) };
}

/** A business failure the workflow raises itself (never a plain Error: that would retry the task forever). */
export function stepFailure(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true });
}
