import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { LockWaitInfo } from '../src/migrations/types';
import { lockWaitSignal, type LockWaitPayload } from '../workflows/definitions';

/** While the same sessions block, the workflow hears again after this long (the wait ages). */
const REFRESH_MS = 15_000;
/** How long an ending activity waits for its last signals to reach the workflow. */
const SETTLE_MS = 5_000;

/** Tells the activity's own workflow what a migration waits for (the `lockWait` signal). */
export interface LockWaitReporter {
  /** A migration waits (called about once a second while it does). */
  waiting(info: LockWaitInfo): void;
  /** The wait is over (the migration went on, or the run ended). */
  ended(): void;
  /** Resolves when the signals sent so far were delivered (or failed), at most SETTLE_MS. */
  settle(): Promise<void>;
}

/** The blockers without their ages: the same sessions give the same key. */
const blockersKey = (info: LockWaitInfo) =>
  [info.what, ...info.blockers.map((b) => b.replace(/ for [\d.hms]+\)/, ')'))].join('\n');

/**
 * Signals the running activity's workflow when a migration starts waiting, when the blocking
 * sessions change, every REFRESH_MS while it waits, and when the wait ends: a workflow cannot
 * read its activities' heartbeat details, and its current details in the Web UI should name
 * the blockers. Signals go in order, never delay the migration, and a failure to deliver one
 * is logged, not thrown. Without a client (activities run outside a worker) it does nothing.
 */
export function signalLockWaits(client: (() => Promise<Client>) | undefined): LockWaitReporter {
  const context = Context.current();
  const execution = context.info.workflowExecution;
  if (!client || !execution)
    return { waiting: () => undefined, ended: () => undefined, settle: async () => {} };
  const { workflowId, runId } = execution;
  let delivered: Promise<void> = Promise.resolve();
  let shown: { what: string; key: string; at: number } | undefined;
  const send = (payload: LockWaitPayload) => {
    delivered = delivered
      .then(async () => {
        const temporal = await client();
        await temporal.workflow.getHandle(workflowId, runId).signal(lockWaitSignal, payload);
      })
      .catch((error) =>
        context.log.warn('could not tell the workflow what a migration waits for', {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
  };
  return {
    waiting(info) {
      const key = blockersKey(info);
      const now = Date.now();
      if (shown?.key === key && now - shown.at < REFRESH_MS) return;
      shown = { what: info.what, key, at: now };
      send({
        what: info.what.slice(0, 300),
        waitingForMs: Math.max(0, Math.round(info.waitingForMs)),
        attempts: info.attempts,
        blockers: info.blockers.slice(0, 3).map((b) => b.slice(0, 500)),
      });
    },
    ended() {
      if (!shown) return;
      send({ what: shown.what.slice(0, 300), ended: true });
      shown = undefined;
    },
    async settle() {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        delivered,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS))),
      ]);
      clearTimeout(timer);
    },
  };
}
