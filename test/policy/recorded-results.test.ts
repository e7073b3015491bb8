import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  archivePreservedDatabaseResultSchema,
  emergencyRollbackResultSchema,
  productionDeployResultSchema,
  stagingRehearsalResultSchema,
  type WorkflowKind,
} from '../../workflows/definitions';
import {
  FLEET_DATABASE_WORKFLOW_TYPE,
  FLEET_WORKFLOW_TYPE,
  fleetDatabaseResultSchema,
  fleetDeployResultSchema,
} from '../../workflows/fleet/definitions';
import { readHistoryFile } from '../deploy/history-files';
import { historyFiles, HISTORIES } from '../support/replay';

const RESULT_SCHEMAS: Record<
  WorkflowKind | typeof FLEET_WORKFLOW_TYPE | typeof FLEET_DATABASE_WORKFLOW_TYPE,
  z.ZodType
> = {
  stagingRehearsal: stagingRehearsalResultSchema,
  productionDeploy: productionDeployResultSchema,
  emergencyRollback: emergencyRollbackResultSchema,
  archivePreservedDatabase: archivePreservedDatabaseResultSchema,
  fleetDeploy: fleetDeployResultSchema,
  fleetDatabaseDeploy: fleetDatabaseResultSchema,
};
type RecordedKind = keyof typeof RESULT_SCHEMAS;

/**
 * The JSON result of a recorded run (its completion event's payload), or none for a run that
 * continued as new (a fleet rollout's earlier runs).
 */
function recordedResult(file: string): { workflowType: RecordedKind; result?: unknown } {
  const { workflowType, proto } = readHistoryFile(join(HISTORIES, file));
  const kind = workflowType as RecordedKind;
  if (proto.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes))
    return { workflowType: kind };
  const completed = proto.events?.find((e) => e.workflowExecutionCompletedEventAttributes);
  const payload = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (!payload?.data) throw new Error(`${file} has no completed result`);
  return {
    workflowType: kind,
    result: JSON.parse(Buffer.from(payload.data).toString('utf8')),
  };
}

describe('results of recorded runs', () => {
  const files = historyFiles('');
  it('has recorded runs of every workflow kind', () => {
    const kinds = new Set(files.map((file) => recordedResult(file).workflowType));
    expect([...kinds].sort()).toEqual(Object.keys(RESULT_SCHEMAS).sort());
  });

  // A run that continued as new has no result of its own: its last run's is checked.
  const completed = files.filter((file) => recordedResult(file).result !== undefined);
  it('checks the result of every recorded run that completed', () => {
    expect(files.filter((file) => !completed.includes(file))).toEqual([
      'fleet-deploy-first-run.json',
    ]);
  });

  for (const file of completed)
    it(`declares every field of ${file} in its workflow's strict result schema`, () => {
      const { workflowType, result } = recordedResult(file);
      const parsed = RESULT_SCHEMAS[workflowType].safeParse(result);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data).toEqual(result);
    });
});
