/**
 * Regenerates test/histories/emergency-rollback-*.json: runs representative emergency
 * rollbacks (a full emergency approved by signal, a full emergency by restore with break-glass
 * — the replaced database kept as the emergency backup, and the history of the child workflow
 * that archives it, archive-preserved-database.json —, an application rollback, a P3
 * no-action) against a real PostgreSQL and a real Temporal dev server (started here unless
 * TEST_DATABASE_URL / TEMPORAL_ADDRESS are set) and writes each run's event history.
 * test/rollback-workflow/replay.test.ts replays them against the current workflow code.
 * emergency-rollback-full-emergency-restore-dump-during-restore.json comes from the code before
 * PRESERVED_DATABASE_PATCH (pg_dump during the restore) and cannot be recorded any more.
 *
 *   npx tsx scripts/record-rollback-histories.ts [name…]   (default: all of them)
 *
 * Re-record only for an intended, patched() change; keep old files for rollbacks still running.
 */
import type { WorkflowHandle } from '@temporalio/client';
import {
  createRollbackStack,
  loadPlan,
  progressOf,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from '../test/rollback-workflow/rollback-stack';
import { query } from '../test/support/databases';
import { runRecording, saveHistory } from './recording';
import { approveRollbackSignal, type EmergencyRollbackResult } from '../workflows/definitions';

async function record(
  name: string,
  handle: WorkflowHandle,
  workflowType = 'emergencyRollback',
): Promise<EmergencyRollbackResult> {
  const result = (await handle.result()) as EmergencyRollbackResult;
  const finalState = result.finalState ?? 'completed';
  await saveHistory(
    workflowType === 'emergencyRollback' ? `emergency-rollback-${name}` : name,
    handle,
    workflowType,
    finalState,
    `, ${finalState}`,
  );
  return result;
}

const NAMES = [
  'full-emergency-approved',
  'full-emergency-keep-replaced',
  'application',
  'no-action',
];

runRecording('record-rollback-histories', async () => {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((n) => !NAMES.includes(n));
  if (unknown.length)
    throw new Error(`unknown history ${unknown.join(', ')}: choose from ${NAMES.join(', ')}`);
  const recording = (name: string) => !wanted.length || wanted.includes(name);
  const plan = await loadPlan(SHIPPED_MIGRATIONS);
  const stacks: RollbackStack[] = [];
  const fresh = async () => {
    const stack = await createRollbackStack();
    stacks.push(stack);
    await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
    return stack;
  };
  try {
    if (recording('full-emergency-approved')) {
      const approved = await fresh();
      await query(
        approved.databaseUrl,
        `INSERT INTO customers (external_id, email, segment) VALUES ('c1', 'c@x', 'smb')`,
      );
      const full = await approved.start({ mode: 'full-emergency', plan, initiator: 'erin' });
      for (;;) {
        const step = (await progressOf(full))?.steps.find((s) => s.name === 'approval');
        if (step?.status === 'running') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await full.signal(approveRollbackSignal, { approver: 'mallory' });
      await full.signal(approveRollbackSignal, { approver: 'alice', comment: 'go' });
      await record('full-emergency-approved', full);
    }

    if (recording('full-emergency-keep-replaced')) {
      // No rollback files: the deploy backup replaces the database, which is kept and archived.
      const restore = await fresh();
      const result = await record(
        'full-emergency-keep-replaced',
        await restore.start({
          mode: 'full-emergency',
          breakGlass: { reason: 'checkout down, rollback files not at hand' },
        }),
      );
      await record(
        'archive-preserved-database',
        restore.client.workflow.getHandle(result.archiveWorkflowId!),
        'archivePreservedDatabase',
      );
    }

    if (recording('application')) {
      const app = await fresh();
      await record('application', await app.start({ mode: 'application' }));
    }

    if (recording('no-action')) {
      const none = await fresh();
      await record('no-action', await none.start({ issue: 'minor', severity: 'P3' }));
    }
  } finally {
    for (const stack of stacks) await stack.stop();
  }
});
