import { parseDuration } from '../src/config/duration';
import { isProductionTier } from '../src/config/load';
import { withClient } from '../src/migrations/database';
import type { PlanArgument } from '../src/migrations/types';
import { assessRollbackImpact, type RollbackImpact } from '../src/rollback/impact';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../src/verify/thresholds';
import { everyoneOnRoster } from '../workflows/approval-policy';
import type { ActivityDeps, OnEnvironment } from './deps';
import { asActivity, databaseUrlOf, fromSettings } from './deps';
import { resolvePlan } from './plan-store';

export type { RollbackImpact } from '../src/rollback/impact';

/** The emergency settings of an environment, as the rollback workflow needs them (no secrets). */
export interface EmergencyPolicy {
  environment: string;
  /** A production-tier environment (`environments.<name>.tier`): data-losing steps need approval. */
  production: boolean;
  requireApprovalForDataLoss: boolean;
  /** Who may approve a data-losing rollback. */
  approvers: string[];
  approversFrom: 'emergency.approvers' | 'approvals.roster';
  postMortemDueIn: string;
  postMortemDueInMs: number;
  /** Keep the database a restore replaced after archiving it (absent in older histories). */
  keepPreservedDatabase?: boolean;
  rollbackWindow: string;
  rollbackWindowMs: number;
  monitoringInterval: string;
  monitoringIntervalMs: number;
  thresholds: Thresholds;
  app: { rollbackHook: boolean; deployHook: boolean; versionUrl: boolean };
}

export function createImpactActivities(deps: ActivityDeps) {
  return {
    /** Which migrations a rollback to `target` reverts and which tables and columns lose data. */
    async assessRollbackImpact(
      input: OnEnvironment<{ plan: PlanArgument; target: number }>,
    ): Promise<RollbackImpact> {
      return asActivity(async () => {
        const plan = await resolvePlan(deps, input.plan);
        return withClient(databaseUrlOf(deps, input.environment), (client) =>
          assessRollbackImpact(client, plan, input.target),
        );
      });
    },

    /** The environment's `emergency` settings, rollback window and thresholds from the worker's config. */
    async loadEmergencyPolicy(input: OnEnvironment): Promise<EmergencyPolicy> {
      return fromSettings(deps, input, (settings) => {
        const explicit = settings.emergency.approvers;
        return {
          environment: input.environment,
          production: isProductionTier(settings),
          requireApprovalForDataLoss: settings.emergency.requireApprovalForDataLoss,
          approvers: explicit ?? everyoneOnRoster(settings.approvals.roster),
          approversFrom: explicit ? 'emergency.approvers' : 'approvals.roster',
          postMortemDueIn: settings.emergency.postMortemDueIn,
          postMortemDueInMs: parseDuration(settings.emergency.postMortemDueIn),
          keepPreservedDatabase: settings.emergency.keepPreservedDatabase,
          rollbackWindow: settings.rollbackWindow,
          rollbackWindowMs: parseDuration(settings.rollbackWindow),
          monitoringInterval: settings.monitoringInterval,
          monitoringIntervalMs: parseDuration(settings.monitoringInterval),
          thresholds: { ...DEFAULT_THRESHOLDS, ...settings.thresholds },
          app: {
            rollbackHook: !!settings.app.rollback,
            deployHook: !!settings.app.deploy,
            versionUrl: !!settings.app.versionUrl,
          },
        };
      });
    },
  };
}
