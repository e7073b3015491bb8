import { describeFetchError } from './hooks';
import { redactSecrets } from './redact';

export type NotificationSeverity = 'info' | 'success' | 'warning' | 'critical';

export interface NotificationMessage {
  title: string;
  text: string;
  fields?: Record<string, string>;
  severity: NotificationSeverity;
}

/** A webhook URL, the config's `notify` block, or nothing (notifications off). */
export type NotificationTarget =
  string | { webhookUrl?: string; webhookUrlEnv?: string } | undefined | null;

export interface NotifyResult {
  delivered: boolean;
  /** True when no webhook is configured (nothing was attempted). */
  skipped?: boolean;
  status?: number;
  error?: string;
  at: string;
}

const ICON: Record<NotificationSeverity, string> = {
  info: ':information_source:',
  success: ':white_check_mark:',
  warning: ':warning:',
  critical: ':rotating_light:',
};

/** The Slack-compatible JSON body: `text` (fallback and plain webhooks) and Block Kit `blocks`. */
export function slackPayload(message: NotificationMessage): {
  text: string;
  blocks: Record<string, unknown>[];
} {
  const heading = `${ICON[message.severity]} ${message.title}`;
  const fields = Object.entries(message.fields ?? {});
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: heading.slice(0, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: message.text.slice(0, 3000) || ' ' } },
  ];
  for (let i = 0; i < fields.length; i += 10)
    blocks.push({
      type: 'section',
      fields: fields
        .slice(i, i + 10)
        .map(([name, value]) => ({ type: 'mrkdwn', text: `*${name}*\n${value}`.slice(0, 2000) })),
    });
  const fieldText = fields.map(([name, value]) => `${name}: ${value}`).join('\n');
  return { text: [`*${heading}*`, message.text, fieldText].filter(Boolean).join('\n'), blocks };
}

/**
 * Posts the message to a Slack-compatible webhook. Never throws: a notification problem must
 * not break a deploy, so failures come back as `{ delivered: false, error }` for the caller to record.
 */
export async function notify(
  target: NotificationTarget,
  message: NotificationMessage,
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<NotifyResult> {
  const at = new Date().toISOString();
  const url = resolveTarget(target, options.env ?? process.env);
  if (!url) return { delivered: false, skipped: true, at };
  try {
    const body = JSON.stringify(slackPayload({ ...message, text: redactSecrets(message.text) }));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return { delivered: true, status: response.status, at };
    return {
      delivered: false,
      status: response.status,
      error: `the notification webhook answered HTTP ${response.status}`,
      at,
    };
  } catch (error) {
    return {
      delivered: false,
      error: `cannot deliver the notification to the webhook: ${describeFetchError(error)}`,
      at,
    };
  }
}

function resolveTarget(target: NotificationTarget, env: NodeJS.ProcessEnv): string | undefined {
  if (!target) return undefined;
  if (typeof target === 'string') return target;
  if (target.webhookUrlEnv) return env[target.webhookUrlEnv] || undefined;
  return target.webhookUrl;
}
