import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
} from '@temporalio/workflow';
import {
  productionDeployInputSchema,
  type ProductionDeployInput,
  type ProductionDeployResult,
} from './definitions';
import { awaitApprovals } from './deploy-approvals';
import { changeEnvironment } from './deploy-changes';
import { compensateDeploy } from './deploy-compensation';
import { finishDeploy, type DeployOutcome } from './deploy-finish';
import { holdEnvironment } from './deploy-lease';
import { DeployRun, TRIGGER_LABELS, type DeployEnding } from './deploy-run';
import { validateDeploy } from './deploy-validate';
import { describeFailure } from './failures';
import { SIGNED_APPROVALS_PATCH } from './signed-approvals';
import { parseWorkflowInput } from './text';

/**
 * The guide's "Production Deployment" as a durable workflow:
 * pre-deployment validation (plan, drift, rehearsal certificate) → approvals gate (signals or
 * updates, one pure policy; expiry and reminders) → backup → baseline → optional application
 * deploy → migrations → post-deployment verification → monitoring window → completed.
 *
 * When the application deploy, a migration, the verification or the monitoring window fails
 * (the guide's immediate rollback triggers), or the deploy is cancelled after a change, the
 * saga undoes what this run did, in reverse, in a non-cancellable scope, exactly once:
 * rollback files (else this run's backup), application rollback, verification. Final states:
 * completed, rejected, approval-expired (no change made), rolled-back (with the trigger),
 * failed-needs-attention (the undo itself failed). A deploy refused before any change
 * (invalid plan, drift, no rehearsal certificate) fails with a typed ApplicationFailure.
 *
 * This file is the orchestration, top to bottom: the run's state and handlers are in
 * deploy-run.ts, each phase in a file of its own.
 */
export async function productionDeploy(
  rawInput: ProductionDeployInput,
): Promise<ProductionDeployResult> {
  const input = parseWorkflowInput(productionDeployInputSchema, rawInput, 'deploy');
  // Signed approvals (keys from the worker's config); older histories replay without them.
  const run = new DeployRun(input, patched(SIGNED_APPROVALS_PATCH));
  const outcome = await deploy(run).then(
    (ending): DeployOutcome => ({ ending }),
    (error: unknown) => unwind(run, error),
  );
  try {
    return await finishDeploy(run, outcome);
  } finally {
    // After compensation and the deployment record: the next holder finds both.
    await run.lease.release();
  }
}

async function deploy(run: DeployRun): Promise<DeployEnding> {
  await validateDeploy(run);
  run.checkCancel();
  const refused = await awaitApprovals(run);
  if (refused) return refused;
  run.checkCancel();
  await holdEnvironment(run);
  return changeEnvironment(run);
}

/**
 * A failure or a cancellation: undo what was changed (compensation, non-cancellable); a deploy
 * that changed nothing ends rejected when cancelled, and is refused otherwise.
 */
async function unwind(run: DeployRun, error: unknown): Promise<DeployOutcome> {
  const cancelled = isCancellation(error) ? error : undefined;
  const described = describeFailure(error);
  const running = run.tracker.running();
  if (running) run.tracker.fail(running.name, described.message);
  log.warn('deploy failed', {
    workflowId: run.workflowId,
    type: described.type,
    message: described.message,
  });
  if (run.hasChanges || run.trigger) {
    run.trigger ??= {
      kind: cancelled ? 'cancelled' : 'unexpected-failure',
      detail: described.message,
    };
    const trigger = run.trigger;
    const compensation = await CancellationScope.nonCancellable(() =>
      compensateDeploy(run, run.tracker),
    );
    return {
      ending: {
        finalState: compensation.ok ? 'rolled-back' : 'failed-needs-attention',
        reason: `${TRIGGER_LABELS[trigger.kind]}: ${trigger.detail}`,
      },
      cancelled,
    };
  }
  if (cancelled)
    return {
      ending: {
        finalState: 'rejected',
        reason: 'the workflow was cancelled before any change was made',
      },
      cancelled,
    };
  return {
    refusal: ApplicationFailure.create({
      type: described.type,
      message: `deploy to ${run.environment} refused, nothing was changed: ${described.message}`,
      nonRetryable: true,
    }),
  };
}
