import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { tryParseDuration } from '../src/config/duration';
import { cancelDeploySignal, cancelPayloadSchema, type CancelPayload } from './definitions';

/**
 * The `cancelDeploy` signal: the first well-formed request wins and is kept; a malformed one
 * is logged and ignored. Registered when constructed (before the deploy's first await).
 */
export class DeployCancellation {
  private first: CancelPayload | undefined;

  constructor() {
    setHandler(cancelDeploySignal, (payload) => {
      const request = cancelPayloadSchema.safeParse(payload);
      if (!request.success) {
        log.warn('cancelDeploy ignored: malformed payload', {
          problems: request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        });
        return;
      }
      this.first ??= request.data;
      log.warn('deploy cancellation requested', {
        by: request.data.by,
        reason: request.data.reason,
      });
    });
  }

  get request(): CancelPayload | undefined {
    return this.first;
  }
  get requested(): boolean {
    return this.first !== undefined;
  }
}

/** A deploy option's duration in ms (undefined when absent); InvalidInput when malformed. */
export function durationOption(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = tryParseDuration(text);
  if (ms === undefined || ms < 1)
    throw ApplicationFailure.nonRetryable(
      `invalid deploy input: ${key} ${JSON.stringify(text)} is not a duration (e.g. '30s', '10m', '24h')`,
      'InvalidInput',
    );
  return ms;
}

export function formatCounts(counts: Record<string, number | 'missing'>): string {
  const entries = Object.entries(counts);
  return entries.length
    ? entries.map(([t, n]) => `${t}: ${n}`).join(', ')
    : 'no critical tables configured';
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
