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
import { readHistoryFile } from '../deploy/history-files';
import { historyFiles, HISTORIES } from '../support/replay';

const RESULT_SCHEMAS: Record<WorkflowKind, z.ZodType> = {
  stagingRehearsal: stagingRehearsalResultSchema,
  productionDeploy: productionDeployResultSchema,
  emergencyRollback: emergencyRollbackResultSchema,
  archivePreservedDatabase: archivePreservedDatabaseResultSchema,
};

/** The JSON result of a recorded run (its completion event's payload). */
function recordedResult(file: string): { workflowType: WorkflowKind; result: unknown } {
  const { workflowType, proto } = readHistoryFile(join(HISTORIES, file));
  const completed = proto.events?.find((e) => e.workflowExecutionCompletedEventAttributes);
  const payload = completed?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
  if (!payload?.data) throw new Error(`${file} has no completed result`);
  return {
    workflowType: workflowType as WorkflowKind,
    result: JSON.parse(Buffer.from(payload.data).toString('utf8')),
  };
}

describe('results of recorded runs', () => {
  const files = historyFiles('');
  it('has recorded runs of every workflow kind', () => {
    const kinds = new Set(files.map((file) => recordedResult(file).workflowType));
    expect([...kinds].sort()).toEqual(Object.keys(RESULT_SCHEMAS).sort());
  });

  for (const file of files)
    it(`declares every field of ${file} in its workflow's strict result schema`, () => {
      const { workflowType, result } = recordedResult(file);
      const parsed = RESULT_SCHEMAS[workflowType].safeParse(result);
      expect(parsed.error?.issues ?? []).toEqual([]);
      expect(parsed.data).toEqual(result);
    });
});
