/**
 * The `lockWait` signal: the apply activity tells its own workflow what a migration waits
 * for (a workflow cannot read a running activity's heartbeat details), so that the run's
 * current details in the Web UI and the `progress` query name the blocking sessions.
 */
import { defineSignal } from '@temporalio/workflow';
import { z } from 'zod';

export const lockWaitPayloadSchema = z.union([
  z.object({
    /** The migration file waiting, e.g. `007_add_customer_region.sql`. */
    what: z.string().max(300),
    waitingForMs: z.number().nonnegative(),
    attempts: z.number().int().nonnegative(),
    /** `pid 4711 (billing, idle in transaction for 3m12s) holding AccessShareLock on customers`… */
    blockers: z.array(z.string().max(500)).max(3),
  }),
  /** The wait is over: the migration got its locks (or gave up). */
  z.object({ what: z.string().max(300), ended: z.literal(true) }),
]);
export type LockWaitPayload = z.infer<typeof lockWaitPayloadSchema>;

export const lockWaitSignal = defineSignal<[LockWaitPayload]>('lockWait');
