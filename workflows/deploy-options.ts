import { ApplicationFailure, log, setHandler } from '@temporalio/workflow';
import { tryParseDuration } from '../src/config/duration';
import { cancelDeploySignal, cancelPayloadSchema, type CancelPayload } from './definitions';

/**
 * The `cancelDeploy` signal: the first well-formed request wins and is kept; a malformed one
 * is logged and ignored. Registered when constructed (before the deploy's first await).
 * With signed approvals (`signed`), a request waits for `judge` (set once the approver keys
 * are loaded), which checks its signature and records a refusal.
 */
export class DeployCancellation {
  private first: CancelPayload | undefined;
  private queued: CancelPayload[] = [];
  private judge: ((request: CancelPayload) => boolean) | undefined;

  constructor(private readonly signed = false) {
    setHandler(cancelDeploySignal, (payload) => {
      const request = cancelPayloadSchema.safeParse(payload);
      if (!request.success) {
        log.warn('cancelDeploy ignored: malformed payload', {
          problems: request.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        });
        return;
      }
      if (this.signed && !this.judge) this.queued.push(request.data);
      else this.consider(request.data);
    });
  }

  /** Signed approvals: from now on (and for requests already received) `judge` decides. */
  judgeWith(judge: (request: CancelPayload) => boolean): void {
    this.judge = judge;
    const queued = this.queued;
    this.queued = [];
    for (const request of queued) this.consider(request);
  }

  private consider(request: CancelPayload): void {
    if (this.judge && !this.first && !this.judge(request)) return;
    this.first ??= request;
    log.warn('deploy cancellation requested', { by: request.by, reason: request.reason });
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
