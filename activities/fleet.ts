import { Context } from '@temporalio/activity';
import { parseDuration } from '../src/config/duration';
import { loadAllowedSigners } from '../src/config/signatures';
import { fleetConfig, resolveFleetMembers } from '../src/fleet/members';
import { failureAllowance, waveBoundaries } from '../src/fleet/waves';
import type { FleetSettings } from '../workflows/fleet/definitions';
import { signaturesEnforced, type ApprovalKeys } from './approval-keys';
import { asActivity, type ActivityDeps } from './deps';
import { checkFleetParent, type VerifyFleetParentInput } from './fleet-parent';
import type { EnvironmentPolicy } from './policy';

export type { VerifyFleetParentInput } from './fleet-parent';

/** What a fleet rollout needs from the worker's config, with its members resolved. */
export interface LoadedFleet {
  fleet: string;
  members: string[];
  settings: FleetSettings;
  approvals: EnvironmentPolicy['approvals'];
  /** The fleet's approver keys (`fleets.<name>.approvals.allowedSigners`). */
  keys: ApprovalKeys;
}

/**
 * The activities of fleet rollouts: the fleet as configured (members from the static list,
 * the catalogue or the file), and the check a database's child makes before any change.
 */
export function createFleetActivities(deps: ActivityDeps) {
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
     * through the approval policy against the roster in THIS worker's config, are complete
     * (and signed, verified against the fleet's allowed signers now, when signatures apply).
     * Anyone can start a workflow; only the fleet workflow's own code can start it as a child.
     */
    async verifyFleetParent(input: VerifyFleetParentInput): Promise<{ approvedBy: string[] }> {
      return asActivity(() => checkFleetParent(deps, input));
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

export type FleetActivities = ReturnType<typeof createFleetActivities>;
