import { parseDuration } from '../src/config/duration';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../src/verify/thresholds';
import { fromSettings, type ActivityDeps, type OnEnvironment } from './deps';

/**
 * What a production deploy needs to know of its environment's config, resolved by the worker
 * (the workflow never reads config itself). Nothing here is secret: role names, people's
 * names, durations in ms and thresholds.
 */
export interface EnvironmentPolicy {
  environment: string;
  /** A deploy needs a passing rehearsal certificate from this environment (null: none needed). */
  requireRehearsalFrom: string | null;
  approvals: {
    requiredRoles: string[];
    highRiskRoles: string[];
    roster: Record<string, string[]>;
    expiryMs: number;
    reminderEveryMs: number;
    allowInitiator: boolean;
  };
  thresholds: Thresholds;
  monitoringWindowMs: number;
  monitoringIntervalMs: number;
  /** Which application hooks are configured (a deploy with --app-version needs `deploy`). */
  appHooks: { deploy: boolean; rollback: boolean; versionUrl: boolean };
  healthCheckCount: number;
  /** How many of the newest migrations a staging rehearsal rolls back and re-applies. */
  rehearsalRollbackDepth: number;
}

export function createPolicyActivities(deps: ActivityDeps) {
  return {
    /** The approval policy, thresholds and monitoring window of `environment`, from the worker's config. */
    async loadEnvironmentPolicy(input: OnEnvironment): Promise<EnvironmentPolicy> {
      return fromSettings(deps, input, (settings) => {
        return {
          environment: input.environment,
          requireRehearsalFrom: settings.requireRehearsalFrom,
          approvals: {
            requiredRoles: settings.approvals.requiredRoles,
            highRiskRoles: settings.approvals.highRiskRoles,
            roster: settings.approvals.roster,
            expiryMs: parseDuration(settings.approvals.expiry),
            reminderEveryMs: parseDuration(settings.approvals.reminderEvery),
            allowInitiator: settings.approvals.allowInitiator,
          },
          thresholds: { ...DEFAULT_THRESHOLDS, ...settings.thresholds },
          monitoringWindowMs: parseDuration(settings.monitoringWindow),
          monitoringIntervalMs: parseDuration(settings.monitoringInterval),
          appHooks: {
            deploy: settings.app.deploy !== undefined,
            rollback: settings.app.rollback !== undefined,
            versionUrl: settings.app.versionUrl !== undefined,
          },
          healthCheckCount: settings.healthChecks.length,
          rehearsalRollbackDepth: settings.rehearsal.rollbackDepth,
        };
      });
    },
  };
}
