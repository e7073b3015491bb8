import { activityInfo, ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { verifyAuthorization, type SignedAuthorization } from '../src/approvals/authorization';
import { parseDuration } from '../src/config/duration';
import { loadAllowedSigners } from '../src/config/signatures';
import { fleetConfig, resolveFleetMembers } from '../src/fleet/members';
import { failureAllowance, waveBoundaries } from '../src/fleet/waves';
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
  type FleetSettings,
} from '../workflows/fleet/definitions';
import { signaturesEnforced, type ApprovalKeys } from './approval-keys';
import { asActivity, type ActivityDeps } from './deps';
import type { EnvironmentPolicy } from './policy';
import { lazyTemporalClient } from './temporal-client';

/** What a fleet rollout needs from the worker's config, with its members resolved. */
export interface LoadedFleet {
  fleet: string;
  members: string[];
  settings: FleetSettings;
  approvals: EnvironmentPolicy['approvals'];
  /** The fleet's approver keys (`fleets.<name>.approvals.allowedSigners`). */
  keys: ApprovalKeys;
}

export interface VerifyFleetParentInput {
  /** The parent as the server recorded it (`workflowInfo().parent`), never from the input. */
  parent: { workflowId: string; runId: string } | undefined;
  fleet: string;
  environment: string;
  planChecksum: string;
  mode: FleetMode;
}

const refused = (message: string) =>
  ApplicationFailure.create({ type: 'FleetParentRefused', message, nonRetryable: true });

/**
 * The activities of fleet rollouts: the fleet as configured (members from the static list,
 * the catalogue or the file), and the check a database's child makes before any change.
 */
export function createFleetActivities(deps: ActivityDeps) {
  const temporal = lazyTemporalClient(deps.client);

  return {
    /** Members in rollout order, waves, concurrency, failure budget and approvals of `fleet`. */
    async loadFleet(input: { fleet: string }): Promise<LoadedFleet> {
      return asActivity(async () => {
        const fleet = fleetConfig(deps.config, input.fleet);
        const members = await resolveFleetMembers(deps.config, input.fleet, deps.env);
        const between = fleet.betweenWaves;
        return {
          fleet: input.fleet,
          members,
          settings: {
            waves: waveBoundaries(fleet.waves, members.length),
            concurrency: fleet.concurrency,
            allowance: failureAllowance(fleet.failureBudget, members.length),
            betweenWaves:
              between === 'continue' || between === 'approval' ? between : parseDuration(between),
            rollbackWindowMs: parseDuration(fleet.rollbackWindow),
            ...(fleet.monitoringWindow ? { monitoringWindow: fleet.monitoringWindow } : {}),
            ...(fleet.monitoringInterval ? { monitoringInterval: fleet.monitoringInterval } : {}),
          },
          approvals: {
            requiredRoles: fleet.approvals.requiredRoles,
            highRiskRoles: fleet.approvals.highRiskRoles,
            roster: fleet.approvals.roster,
            expiryMs: parseDuration(fleet.approvals.expiry),
            reminderEveryMs: parseDuration(fleet.approvals.reminderEvery),
            allowInitiator: fleet.approvals.allowInitiator,
          },
          keys: fleetApprovalKeys(deps, input.fleet, members),
        };
      });
    },

    /**
     * The fleet's approver keys, read again (a `reloadApprovalKeys` signal, the last approval,
     * a resume or rollback request): a key removed from the file is revoked.
     */
    async loadFleetApprovalKeys(input: { fleet: string }): Promise<ApprovalKeys> {
      return asActivity(async () =>
        fleetApprovalKeys(
          deps,
          input.fleet,
          await resolveFleetMembers(deps.config, input.fleet, deps.env),
        ),
      );
    },

    /**
     * A database's child changes nothing unless this passes: its parent (as recorded by the
     * server) is a fleetDeploy run on this worker's task queue, still running, that names this
     * environment as a member of `fleet` for this plan and mode, and whose approvals, replayed
     * through the approval policy against the roster in THIS worker's config, are complete.
     * Anyone can start a workflow; only the fleet workflow's own code can start it as a child.
     */
    async verifyFleetParent(input: VerifyFleetParentInput): Promise<{ approvedBy: string[] }> {
      return asActivity(async () => {
        const { parent, environment, fleet } = input;
        if (!parent)
          throw refused(
            `fleetDatabaseDeploy of ${environment} was not started by a fleet rollout: start it with \`pgshift deploy --fleet ${fleet}\``,
          );
        const c = await temporal();
        const handle = c.workflow.getHandle(parent.workflowId, parent.runId);
        let description;
        try {
          description = await handle.describe();
        } catch (error) {
          if (error instanceof WorkflowNotFoundError)
            throw refused(
              `the parent ${parent.workflowId} of this database's deploy does not exist`,
            );
          throw error;
        }
        const queue = activityInfo().taskQueue;
        if (description.type !== FLEET_WORKFLOW_TYPE || description.taskQueue !== queue)
          throw refused(
            `the parent ${parent.workflowId} is a ${description.type} on task queue ${description.taskQueue}, not a ${FLEET_WORKFLOW_TYPE} on ${queue}`,
          );
        if (description.status.name !== 'RUNNING')
          throw refused(
            `the parent ${parent.workflowId} is ${description.status.name}, not running`,
          );
        const membership = await handle.query(fleetMembershipQuery, environment);
        const problem =
          membership.fleet !== fleet
            ? `it rolls out fleet ${membership.fleet}, not ${fleet}`
            : membership.planChecksum !== input.planChecksum
              ? `it rolls out plan ${membership.planChecksum.slice(0, 12)}, not ${input.planChecksum.slice(0, 12)}`
              : !membership.member
                ? `${environment} is not a member of fleet ${fleet}`
                : membership.mode !== input.mode
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
      });
    },
  };
}

/**
 * The fleet's keys: its own allowed-signers file; signatures are required when the fleet says
 * so or when any member is a production-tier environment that requires them.
 */
function fleetApprovalKeys(deps: ActivityDeps, fleet: string, members: string[]): ApprovalKeys {
  const approvals = fleetConfig(deps.config, fleet).approvals;
  return {
    required:
      approvals.requireSignatures === true ||
      members.some((member) => signaturesEnforced(deps, member)),
    allowedSigners: loadAllowedSigners(deps.config, { name: fleet, approvals }, undefined, 'fleets')
      .signers,
    namespace: Context.current().info.activityNamespace,
  };
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
  if (approvals.requireSignatures !== true && !signaturesEnforced(deps, input.environment))
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

export type FleetActivities = ReturnType<typeof createFleetActivities>;
