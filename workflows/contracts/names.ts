/** The task queue and the workflow types every client and worker agree on. */

export const DEFAULT_TASK_QUEUE = 'pgshift';

export const WORKFLOW_TYPES = {
  stagingRehearsal: 'stagingRehearsal',
  productionDeploy: 'productionDeploy',
  emergencyRollback: 'emergencyRollback',
  archivePreservedDatabase: 'archivePreservedDatabase',
} as const;
export type WorkflowKind = keyof typeof WORKFLOW_TYPES;

/** The first 12 hex digits of a plan checksum, as workflow ids carry it. */
export const shortChecksum = (checksum: string): string => checksum.slice(0, 12);
