import { notify, type NotificationMessage, type NotifyResult } from '../src/app/notify';
import { asActivity, settingsOf, type ActivityDeps, type OnEnvironment } from './deps';

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    /** Posts to the environment's Slack-compatible webhook; never fails the workflow. */
    async sendNotification(
      input: OnEnvironment<{ message: NotificationMessage }>,
    ): Promise<NotifyResult> {
      return asActivity(() =>
        notify(settingsOf(deps, input.environment).notify, input.message, { env: deps.env }),
      );
    },
  };
}
