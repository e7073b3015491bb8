/**
 * The workflow side of the environment lease: pure orchestration, used inside a workflow that
 * changes an environment (rehearsal, deploy from its backup step on, rollback, restore).
 *
 * Integration (one call per workflow; guard it with `patched()` so that recorded histories,
 * which have no lease activity, still replay):
 *
 * ```ts
 * import { patched } from '@temporalio/workflow';
 * import { EnvironmentLease } from './lease/lease-client';
 *
 * // At the top of the workflow: only registers two signal handlers, no command.
 * const lease = new EnvironmentLease(input.environment);
 * // … steps that change nothing (validation, approvals) …
 * const changeSteps = () => runTheChangingSteps(); // backup, migrate, verify, compensation
 * const result = patched('environment-lease')
 *   ? await lease.withLease(
 *       { kind: 'productionDeploy', initiator: input.initiator, purpose: `apply ${n} migrations` },
 *       changeSteps,
 *     )
 *   : await changeSteps();
 * ```
 *
 * Everything that changes the environment, compensation included, goes inside the function:
 * the lease is held until it returns or throws. The first step inside should re-read what a
 * previous holder may have changed (the ledger, drift): that is a deploy's re-check after its
 * approvals.
 *
 * `withLease` acquires (waiting in line, or failing at once with `wait: 'refuse'`, or after
 * `timeout` with an `EnvironmentBusy` failure naming the holder), runs `fn`, and releases in a
 * non-cancellable scope whatever happens: success, failure, or a cancelled workflow (the
 * cancellation still reaches `fn`, whose compensation runs non-cancellable, then the release
 * is sent). A holder run that closes without releasing (terminated, timed out, failed,
 * continued-as-new) is found closed by the lease workflow's holder check and loses the lease.
 * A run stuck on a failing workflow task is still running, so it keeps the lease.
 *
 * While waiting, "Waiting for the lease on <env>, held by <kind> <id> (<initiator>) since …"
 * goes to the Web UI's current details (or to `onWaiting`, e.g. the progress tracker); a run
 * that tracks progress with ProgressTracker overwrites it at its next step.
 *
 * Needs the `requestEnvironmentLease` activity (activities/lease.ts) on the workflow's task
 * queue, and the `environmentLease` workflow exported by the worker's workflows module
 * (workflows/index.ts does both for pgshift's worker).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { LeaseActivities } from '../../activities/lease';
import {
  describeLeaseHolder,
  leaseGrantedSignal,
  leaseRefusedSignal,
  leaseReleaseSignal,
  leaseWorkflowId,
  type EnvironmentLeaseInput,
  type LeaseGrant,
  type LeaseRefusal,
  type LeaseRequest,
  type LeaseWaitMode,
} from './definitions';

const { requestEnvironmentLease } = proxyActivities<LeaseActivities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

export interface AcquireLeaseOptions {
  /** The workflow kind shown to others: `productionDeploy`, `emergencyRollback`, … */
  kind: string;
  /** Who started this run. */
  initiator: string;
  /** One line: what this run does to the environment. */
  purpose: string;
  /** `wait` (default) queues behind the holder; `refuse` fails at once with EnvironmentBusy. */
  wait?: LeaseWaitMode;
  /** How long to wait in line before failing with EnvironmentBusy; default: no limit. */
  timeout?: Duration;
}

export interface EnvironmentLeaseOptions {
  /** Settings of the lease workflow when this request starts it (tests lower its timers). */
  lease?: Omit<EnvironmentLeaseInput, 'environment' | 'holder' | 'queue' | 'lastRelease'>;
  /** Where "waiting for the lease …" goes; default `setCurrentDetails` (Web UI). */
  onWaiting?: (description: string) => void;
}

/** The environment lease as one workflow run holds it. Create one per run and environment. */
export class EnvironmentLease {
  private grant: LeaseGrant | undefined;
  private pending: string | undefined;
  private readonly grants = new Map<string, LeaseGrant>();
  private readonly refusals = new Map<string, LeaseRefusal>();

  constructor(
    readonly environment: string,
    private readonly options: EnvironmentLeaseOptions = {},
  ) {
    setHandler(leaseGrantedSignal, (grant) => {
      this.grants.set(grant.requestId, grant);
    });
    setHandler(leaseRefusedSignal, (refusal) => {
      this.refusals.set(refusal.requestId, refusal);
    });
  }

  /** The grant while this run holds the lease. */
  get held(): LeaseGrant | undefined {
    return this.grant;
  }

  /**
   * Asks the lease workflow (starting it if needed) and waits for the grant. Fails with a
   * non-retryable ApplicationFailure of type `EnvironmentBusy` naming the holder when refused
   * or when `timeout` passes; a cancelled wait withdraws the request and rethrows.
   */
  async acquire(options: AcquireLeaseOptions): Promise<LeaseGrant> {
    if (this.grant) return this.grant;
    const info = workflowInfo();
    const request: LeaseRequest = {
      requestId: uuid4(),
      workflowId: info.workflowId,
      runId: info.runId,
      kind: options.kind,
      initiator: options.initiator,
      purpose: options.purpose,
      wait: options.wait ?? 'wait',
      requestedAt: new Date().toISOString(),
    };
    this.pending = request.requestId;
    const id = request.requestId;
    try {
      const { holder } = await requestEnvironmentLease({
        request,
        lease: { ...this.options.lease, environment: this.environment },
      });
      if (!this.grants.has(id) && !this.refusals.has(id) && request.wait === 'wait') {
        const waiting = `Waiting for the lease on ${this.environment}${
          holder && holder.workflowId !== info.workflowId
            ? `, held by ${describeLeaseHolder(holder)}`
            : ''
        }`;
        log.info(waiting);
        (this.options.onWaiting ?? setCurrentDetails)(waiting);
      }
      const answer = () => this.grants.has(id) || this.refusals.has(id);
      let answered = true;
      if (options.timeout === undefined) await condition(answer);
      else answered = await condition(answer, options.timeout);
      const refusal = this.refusals.get(id);
      if (refusal)
        throw busy(this.environment, `is held by ${describeLeaseHolder(refusal.holder)}`);
      if (!answered)
        throw busy(
          this.environment,
          `was not granted within ${String(options.timeout)}${holder ? ` (held by ${describeLeaseHolder(holder)} when asked)` : ''}`,
        );
      this.grant = this.grants.get(id)!;
      (this.options.onWaiting ?? setCurrentDetails)(
        `Holding the lease on ${this.environment} since ${this.grant.grantedAt}`,
      );
      return this.grant;
    } catch (error) {
      // Timed out, cancelled, or the request activity failed after its signal got through:
      // withdraw, so that the lease never grants itself to a run that stopped waiting.
      if (!this.refusals.has(id)) await this.withdraw(id);
      throw error;
    } finally {
      this.pending = undefined;
    }
  }

  /** Lets go of the lease (or of a request still waiting); safe to call twice, never cancelled. */
  async release(): Promise<void> {
    const requestId = this.grant?.requestId ?? this.pending;
    this.grant = undefined;
    if (requestId) await this.withdraw(requestId);
  }

  /**
   * Holds the lease while `fn` runs: acquire, `fn`, then release in a non-cancellable scope,
   * whether `fn` succeeds, fails or is cancelled.
   */
  async withLease<T>(
    options: AcquireLeaseOptions,
    fn: (grant: LeaseGrant) => Promise<T>,
  ): Promise<T> {
    const grant = await this.acquire(options);
    try {
      return await fn(grant);
    } finally {
      await this.release();
    }
  }

  private async withdraw(requestId: string): Promise<void> {
    const info = workflowInfo();
    await CancellationScope.nonCancellable(async () => {
      try {
        await getExternalWorkflowHandle(leaseWorkflowId(this.environment)).signal(
          leaseReleaseSignal,
          { requestId, workflowId: info.workflowId, runId: info.runId },
        );
      } catch (error) {
        // The lease workflow is gone: nothing is held any more.
        log.warn(`cannot release the lease on ${this.environment}: ${(error as Error).message}`);
      }
    });
  }
}

function busy(environment: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'EnvironmentBusy',
    nonRetryable: true,
    message: `the lease on ${environment} ${why}: only one workflow at a time may change an environment; wait for it to end, or cancel it first`,
  });
}
