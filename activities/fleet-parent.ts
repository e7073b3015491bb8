/**
 * The check behind every change a fleet member's child makes: its parent, as the server
 * recorded it, is a running fleetDeploy on this worker's task queue that rolls out this plan
 * to this database in this mode, with approvals that hold against THIS worker's config (the
 * roster, and the signatures against the fleet's allowed-signers file, read now). Made by the
 * child's first activity (verifyFleetParent) and again by each activity that changes a
 * database that requires signed approvals (apply, revert, restore).
 */
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { verifyAuthorization, type SignedAuthorization } from '../src/approvals/authorization';
import { enforcesSignatures, loadAllowedSigners } from '../src/config/signatures';
import { fleetConfig } from '../src/fleet/members';
import {
  evaluateApproval,
  initialApprovalState,
  isFullyApproved,
  requiredRolesFor,
} from '../workflows/approval-policy';
import type { ApprovalState } from '../workflows/definitions';
import {
  FLEET_WORKFLOW_TYPE,
  fleetMembershipQuery,
  fleetStatementEnvironment,
  type FleetMode,
} from '../workflows/fleet/definitions';
import { settingsOf, type ActivityDeps } from './deps';
import { lazyTemporalClient } from './temporal-client';

export interface VerifyFleetParentInput {
  /** The parent as the server recorded it (`workflowInfo().parent`), never from the input. */
  parent: { workflowId: string; runId: string } | undefined;
  fleet: string;
  environment: string;
  planChecksum: string;
  /** The child's mode; absent: not checked (a later change of a child the check let start). */
  mode?: FleetMode;
}

const refused = (message: string) =>
  ApplicationFailure.create({ type: 'FleetParentRefused', message, nonRetryable: true });

const clients = new WeakMap<ActivityDeps, () => Promise<Client>>();

/** One Temporal client per set of activities (made on first use). */
export function temporalFor(deps: ActivityDeps): () => Promise<Client> {
  let client = clients.get(deps);
  if (!client) clients.set(deps, (client = lazyTemporalClient(deps.client)));
  return client;
}

/** Throws a non-retryable `FleetParentRefused` unless the parent authorizes this change. */
export async function checkFleetParent(
  deps: ActivityDeps,
  input: VerifyFleetParentInput,
): Promise<{ approvedBy: string[] }> {
  const { parent, environment, fleet } = input;
  if (!parent)
    throw refused(
      `fleetDatabaseDeploy of ${environment} was not started by a fleet rollout: start it with \`pgshift deploy --fleet ${fleet}\``,
    );
  const c = await temporalFor(deps)();
  const handle = c.workflow.getHandle(parent.workflowId, parent.runId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw refused(`the parent ${parent.workflowId} of this database's deploy does not exist`);
    throw error;
  }
  const queue = activityInfo().taskQueue;
  if (description.type !== FLEET_WORKFLOW_TYPE || description.taskQueue !== queue)
    throw refused(
      `the parent ${parent.workflowId} is a ${description.type} on task queue ${description.taskQueue}, not a ${FLEET_WORKFLOW_TYPE} on ${queue}`,
    );
  if (description.status.name !== 'RUNNING')
    throw refused(`the parent ${parent.workflowId} is ${description.status.name}, not running`);
  const membership = await handle.query(fleetMembershipQuery, environment);
  const problem =
    membership.fleet !== fleet
      ? `it rolls out fleet ${membership.fleet}, not ${fleet}`
      : membership.planChecksum !== input.planChecksum
        ? `it rolls out plan ${membership.planChecksum.slice(0, 12)}, not ${input.planChecksum.slice(0, 12)}`
        : !membership.member
          ? `${environment} is not a member of fleet ${fleet}`
          : input.mode && membership.mode !== input.mode
            ? `it is not in ${input.mode} mode (${membership.mode ?? 'no mode yet'})`
            : approvalProblem(
                deps,
                fleet,
                membership.initiator,
                input.planChecksum,
                membership.approvals,
              );
  const unsigned =
    problem ??
    signatureProblem(deps, input, membership.authorization, {
      namespace: activityInfo().workflowNamespace ?? activityInfo().activityNamespace,
      workflowId: parent.workflowId,
      // The rollout's run: the first of its chain, as the server records it.
      runId: description.raw.workflowExecutionInfo?.firstRunId || parent.runId,
      requiredRoles: membership.approvals.required,
    });
  if (unsigned)
    throw refused(
      `the fleet rollout ${parent.workflowId} does not authorize this change: ${unsigned}`,
    );
  return { approvedBy: membership.approvals.granted.map((g) => `${g.role}: ${g.approver}`) };
}

/**
 * An activity about to change `environment` from a fleet member's child (the workflow's
 * authorization names the fleet): finds the child's parent as the server recorded it and
 * checks it as verifyFleetParent does, now.
 */
export async function assertFleetMemberAuthorized(
  deps: ActivityDeps,
  environment: string,
  member: NonNullable<SignedAuthorization['fleet']>,
): Promise<void> {
  const own = activityInfo().workflowExecution;
  if (!own)
    throw refused(`a change of ${environment} for fleet ${member.fleet} outside a workflow`);
  const client = await temporalFor(deps)();
  const parent = await client.workflow
    .getHandle(own.workflowId, own.runId)
    .describe()
    .then((description) => description.parentExecution)
    .catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
  await checkFleetParent(deps, {
    parent:
      parent?.workflowId && parent.runId
        ? { workflowId: parent.workflowId, runId: parent.runId }
        : undefined,
    fleet: member.fleet,
    environment,
    planChecksum: member.planChecksum,
    // Checked when the child started; the parent may have halted since (children finish).
  });
}

/**
 * The worker's own check of the parent's signed start and approvals, when this member needs
 * one (the fleet requires signatures, or the member is a production-tier environment that
 * does): verified against the fleet's allowed-signers file as it is now, bound to the
 * rollout's workflow id and first run id (from the server), the plan and each role.
 */
function signatureProblem(
  deps: ActivityDeps,
  input: VerifyFleetParentInput,
  authorization: SignedAuthorization | undefined,
  rollout: { namespace: string; workflowId: string; runId: string; requiredRoles: string[] },
): string | undefined {
  const approvals = fleetConfig(deps.config, input.fleet).approvals;
  if (
    approvals.requireSignatures !== true &&
    !enforcesSignatures(settingsOf(deps, input.environment))
  )
    return undefined;
  const check = verifyAuthorization(
    authorization,
    {
      namespace: rollout.namespace,
      environment: fleetStatementEnvironment(input.fleet),
      workflowId: rollout.workflowId,
      runId: rollout.runId,
      planChecksum: input.planChecksum,
      requiredRoles: [...new Set([...approvals.requiredRoles, ...rollout.requiredRoles])],
      roster: approvals.roster,
    },
    loadAllowedSigners(deps.config, { name: input.fleet, approvals }, undefined, 'fleets').signers,
    Date.now(),
  );
  return check.ok
    ? undefined
    : `its signed approvals do not verify against fleets.${input.fleet}.approvals.allowedSigners (${input.environment} requires signed approvals): ${check.problems.join('; ')}`;
}

/** The approval window of a replay: approvals are judged as of when they were granted. */
const NEVER = Date.parse('9999-12-31T00:00:00Z');

/** Replays the parent's granted approvals through the policy with this worker's roster. */
function approvalProblem(
  deps: ActivityDeps,
  fleet: string,
  initiator: string,
  planChecksum: string,
  approvals: ApprovalState,
): string | undefined {
  const config = fleetConfig(deps.config, fleet).approvals;
  const required = [
    ...new Set([...requiredRolesFor(config, { highRisk: false }), ...approvals.required]),
  ];
  let state = initialApprovalState(required, NEVER);
  for (const grant of approvals.granted) {
    const decision = evaluateApproval(
      state,
      { role: grant.role, approver: grant.approver },
      {
        now: Date.parse(grant.at),
        initiator,
        planChecksum,
        roster: config.roster,
        requiredRoles: required,
        expiresAt: NEVER,
        allowInitiator: config.allowInitiator,
      },
    );
    if (!decision.accepted)
      return `the approval ${grant.role} by ${grant.approver} does not hold: ${decision.reason}`;
    state = decision.state;
  }
  return isFullyApproved(state) ? undefined : `approvals missing: ${state.missing.join(', ')}`;
}
