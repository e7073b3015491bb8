import { log } from '@temporalio/workflow';
import type { NotificationMessage } from '../../src/app/notify';
import { quick } from '../activity-proxies';
import { describeFailure } from '../failures';

/**
 * Sends one notification to the environment's webhook. The one policy of every workflow: a
 * notification never fails or stops a run; when it is not delivered (or the activity fails),
 * `onUndelivered` hears why (the rollback writes it in the incident timeline) and it is logged.
 */
export async function notify(
  environment: string,
  message: NotificationMessage,
  onUndelivered?: (why: string) => void,
): Promise<void> {
  let problem: string | undefined;
  try {
    const result = await quick.sendNotification.executeWithOptions(
      { summary: `notify: ${message.title}` },
      [{ environment, message }],
    );
    if (!result.delivered && !result.skipped)
      problem = `notification "${message.title}" not delivered: ${result.error ?? 'unknown error'}`;
  } catch (error) {
    problem = `notification "${message.title}" failed: ${describeFailure(error).message}`;
  }
  if (problem === undefined) return;
  log.warn('notification failed', { title: message.title, problem });
  onUndelivered?.(problem);
}
