import { createAppActivities } from './app';
import { createApprovalKeyActivities } from './approval-keys';
import { createBackupActivities } from './backup';
import type { ActivityDeps } from './deps';
import { createFleetActivities } from './fleet';
import { createImpactActivities } from './impact';
import { createLeaseActivities } from './lease';
import { createMigrateActivities } from './migrate';
import { createNotifyActivities } from './notify';
import { createPlanActivities } from './plan';
import { createPolicyActivities } from './policy';
import { createRecordActivities } from './records';
import { createReportActivities } from './reports';
import { createVerifyActivities } from './verify';

export type { ActivityDeps } from './deps';

/** Every activity of pgshift, built from its dependencies (config, environment variables). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPlanActivities(deps),
    ...createMigrateActivities(deps),
    ...createBackupActivities(deps),
    ...createVerifyActivities(deps),
    ...createAppActivities(deps),
    ...createNotifyActivities(deps),
    ...createRecordActivities(deps),
    ...createReportActivities(deps),
    ...createPolicyActivities(deps),
    ...createApprovalKeyActivities(deps),
    ...createImpactActivities(deps),
    ...createLeaseActivities(deps),
    ...createFleetActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
