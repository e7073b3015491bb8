import { workflowInfo } from '@temporalio/workflow';
import type { PlanRef } from '../../src/migrations/types';
import type { WorkflowKind } from '../definitions';
import { showDetails } from '../deploy-monitoring';
import { EnvironmentLease } from '../lease/lease-client';
import { ProgressTracker } from '../progress-tracker';

/** What every run that brings a plan to an environment starts from. */
export interface PlanRunInput<Options> {
  environment: string;
  plan: PlanRef;
  initiator: string;
  options: Options;
}

/**
 * A run of a plan on an environment (a rehearsal, a deploy): its input, its progress (the
 * `progress` query) and the environment lease, created before the run's first await.
 */
export class PlanRun<Options> {
  readonly environment: string;
  readonly plan: PlanRef;
  readonly initiator: string;
  readonly options: Options;
  readonly workflowId = workflowInfo().workflowId;
  /** The plan's checksum as ids and messages show it. */
  readonly shortPlan: string;
  /** The newest version of the plan (where the run brings the environment). */
  readonly top: number;
  readonly tracker: ProgressTracker;
  readonly lease: EnvironmentLease;

  constructor(input: PlanRunInput<Options>, kind: WorkflowKind, steps: string[]) {
    this.environment = input.environment;
    this.plan = input.plan;
    this.initiator = input.initiator;
    this.options = input.options;
    this.shortPlan = input.plan.checksum.slice(0, 12);
    this.top = Math.max(0, ...input.plan.migrations.map((m) => m.version));
    this.tracker = new ProgressTracker(kind, input.environment, steps);
    this.lease = new EnvironmentLease(input.environment, {
      onWaiting: (details) => showDetails(this.tracker, details),
    });
  }
}
