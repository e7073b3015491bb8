import { Context } from '@temporalio/activity';
import type { AllowedSigner } from '../src/approvals/allowed-signers';
import { verifyAuthorization, type SignedAuthorization } from '../src/approvals/authorization';
import {
  enforcesSignatures,
  loadAllowedSigners,
  requiresSignatures,
} from '../src/config/signatures';
import { assessRisk, validateSafety } from '../src/lint/safety';
import { errorClass } from '../src/errors';
import type { MigrationPlan } from '../src/migrations/types';
import { assertFleetMemberAuthorized } from './fleet-parent';
import { fromSettings, settingsOf, type ActivityDeps, type OnEnvironment } from './deps';

/** The approver keys of one environment, as the workflow's approval policy needs them. */
export interface ApprovalKeys {
  /** approvals.requireSignatures (default: true for a production tier). */
  required: boolean;
  /** The parsed approvals.allowedSigners file: public keys and names, nothing secret. */
  allowedSigners: AllowedSigner[];
  /** The Temporal namespace the worker serves (statements name it). */
  namespace: string;
}

/**
 * An activity was asked to change a production-tier database without signed approvals that
 * verify against the worker's allowed signers, now. Retrying cannot help.
 */
export class SignedApprovalsRefusedError extends errorClass('SignedApprovalsRefused', 1) {}

export function createApprovalKeyActivities(deps: ActivityDeps) {
  return {
    /**
     * Reads `environments.<env>.approvals.allowedSigners` and `requireSignatures` from the
     * worker's config, at the start of a deploy or rollback and again before the last approval
     * counts: the file is read every time, so a key removed from it is revoked.
     */
    async loadApprovalKeys(input: OnEnvironment): Promise<ApprovalKeys> {
      return fromSettings(deps, input, (settings) => {
        return {
          required: requiresSignatures(settings),
          allowedSigners: loadAllowedSigners(deps.config, settings).signers,
          namespace: Context.current().info.activityNamespace,
        };
      });
    },
  };
}

/**
 * The input of an activity that changes an environment's database, with the signed decisions
 * behind the change (required on a production tier that requires signatures).
 */
export type AuthorizedChange<Extra extends object = object> = OnEnvironment<
  { authorization?: SignedAuthorization } & Extra
>;

/**
 * The worker's own check before it changes a production-tier database whose environment
 * requires signatures: `authorization` (handed by the workflow) must verify against the
 * allowed-signers file as it is now, for this namespace, workflow id and run id (from
 * Temporal, not from the input) and `planChecksum`. Otherwise a non-retryable
 * SignedApprovalsRefused failure names every problem. A fleet member's child hands the
 * fleet's name instead: then its server-recorded parent must authorize the change (the fleet's
 * signed approvals, verified now), or a non-retryable FleetParentRefused says why not.
 */
export async function assertSignedAuthorization(
  deps: ActivityDeps,
  environment: string,
  authorization: SignedAuthorization | undefined,
  change: {
    what: string;
    planChecksum?: string | null;
    needsApproval?: boolean;
    /** The roles this change needs (default: approvals.requiredRoles). */
    requiredRoles?: string[];
  },
): Promise<void> {
  const settings = settingsOf(deps, environment);
  if (!signaturesEnforced(deps, environment)) return;
  if (authorization?.fleet)
    return assertFleetMemberAuthorized(deps, environment, authorization.fleet);
  const info = Context.current().info;
  const check = verifyAuthorization(
    info.workflowExecution ? authorization : undefined,
    {
      namespace: info.workflowNamespace ?? info.activityNamespace,
      environment,
      workflowId: info.workflowExecution?.workflowId ?? '',
      runId: info.workflowExecution?.runId ?? '',
      ...(change.planChecksum !== undefined ? { planChecksum: change.planChecksum } : {}),
      requiredRoles: change.requiredRoles ?? settings.approvals.requiredRoles,
      roster: settings.approvals.roster,
      ...(change.needsApproval ? { needsApproval: true } : {}),
    },
    loadAllowedSigners(deps.config, settings).signers,
    Date.now(),
  );
  if (!check.ok)
    throw new SignedApprovalsRefusedError(
      `refusing to ${change.what} on ${environment}: it is a production-tier environment that requires signed approvals (environments.${environment}.approvals.requireSignatures), and the approvals handed to this activity do not verify against ${settings.approvals.allowedSigners ?? 'the allowed signers (approvals.allowedSigners is not set)'}:\n  ${check.problems.join('\n  ')}`,
    );
}

/** True when activities must verify signed approvals before changing `environment`. */
export function signaturesEnforced(deps: ActivityDeps, environment: string): boolean {
  return enforcesSignatures(settingsOf(deps, environment));
}

/**
 * The roles applying `plan` needs, derived by the worker from the SQL (as validatePlan does):
 * approvals.requiredRoles, plus approvals.highRiskRoles when the plan is high risk.
 */
export async function rolesToApply(
  deps: ActivityDeps,
  environment: string,
  plan: MigrationPlan,
): Promise<string[]> {
  const { approvals } = settingsOf(deps, environment);
  const risk = assessRisk(plan, await validateSafety(plan));
  return [...approvals.requiredRoles, ...(risk.highRisk ? approvals.highRiskRoles : [])];
}
