import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createActivities } from '../activities';
import { parseConfig } from '../src/config';
import { withClient } from '../src/migrations/database';
import { migrateUp } from '../src/migrations/runner';
import { DEFAULT_RUNNER_OPTIONS, type MigrationPlan } from '../src/migrations/types';
import { recordDeployment } from '../src/records/deployments';
import { defaultWorkflowsPath } from '../src/temporal/worker';
import type { BenchInfra } from './infra';
import { median, settle, timeIt } from './measure';
import type { BenchContext } from './report';
import { startBenchWorker } from './temporal-harness';

export interface EmergencyWorkflowTiming {
  medianMs: number;
  times: number[];
  /** Bare pg_restore of the same backup, one beside each workflow run (order alternating). */
  bareTimes: number[];
  /** Median time of the workflow's own "restore backup" and "emergency backup" steps. */
  restoreStepMs?: number;
  emergencyBackupStepMs?: number;
  /**
   * How the emergency backup was taken: the replaced database kept at the swap and archived
   * afterwards by a child workflow (current code), a pg_dump during the restore, or before it.
   */
  emergencyBackup: 'kept-and-archived' | 'dump-during-restore' | 'dump-before-restore';
  /** Median time of the archive child workflow, after the rollback (not in `medianMs`). */
  archiveMs?: number;
  /** Median time from the rollback's start until its archive had completed. */
  untilArchivedMs?: number;
  notes: string[];
}

/** Is `emergencyRollback` exported by the workflows module (another helper writes it)? */
function emergencyWorkflowExists(): boolean {
  const index = defaultWorkflowsPath();
  const dir = index.replace(/[/\\]index(\.[jt]s)?$/, '');
  if (
    !existsSync(join(dir, 'emergency-rollback.ts')) &&
    !existsSync(join(dir, 'emergency-rollback.js'))
  )
    return false;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return typeof (require(index) as Record<string, unknown>).emergencyRollback === 'function';
}

function stepMs(steps: { name: string; startedAt?: string; endedAt?: string }[], name: string) {
  const step = steps.find((s) => s.name === name);
  return step?.startedAt && step.endedAt
    ? new Date(step.endedAt).getTime() - new Date(step.startedAt).getTime()
    : undefined;
}

/**
 * The whole `emergencyRollback` workflow, `--full-emergency` with break-glass, on the
 * production database: a deploy (versions `backupVersion`+1..top) is recorded as the last
 * successful one with the backup taken before it; the workflow restores that backup (no
 * rollback files given), after taking its own emergency backup, verifies, watches (0 s).
 * Returns undefined when the workflow does not exist yet.
 */
export async function benchEmergencyWorkflow(
  infra: BenchInfra,
  ctx: BenchContext,
  input: {
    productionUrl: string;
    backupsRoot: string;
    backupId: string;
    backupVersion: number;
    plan: MigrationPlan;
    runs: number;
    /** One timed bare pg_restore of the same backup (the pair of a workflow run). */
    bareRestore: () => Promise<number>;
  },
): Promise<EmergencyWorkflowTiming | undefined> {
  if (!emergencyWorkflowExists()) return undefined;
  const config = parseConfig(
    {
      backupsDir: input.backupsRoot,
      reportsDir: join(infra.workDir, 'emergency-reports'),
      environments: { production: { criticalTables: [] } },
    },
    null,
  );
  const activities = createActivities({
    config,
    env: { PRODUCTION_DATABASE_URL: input.productionUrl },
    scratchServerUrl: infra.serverUrl,
  });
  const worker = await startBenchWorker(infra, activities);
  const top = Math.max(...input.plan.migrations.map((m) => m.version));
  const times: number[] = [];
  const bareTimes: number[] = [];
  const restoreSteps: number[] = [];
  const backupSteps: number[] = [];
  const archives: number[] = [];
  const untilArchived: number[] = [];
  let emergencyBackup: EmergencyWorkflowTiming['emergencyBackup'] = 'dump-before-restore';
  try {
    for (let run = 0; run < input.runs; run++) {
      // The deploy that went wrong: backupVersion → top, recorded as the last good deploy.
      await withClient(input.productionUrl, async (client) => {
        await migrateUp(client, input.plan, { ...DEFAULT_RUNNER_OPTIONS, appliedBy: 'bench' });
        await recordDeployment(client, {
          workflowId: `deploy-production-bench-${run}`,
          kind: 'deploy',
          fromVersion: input.backupVersion,
          toVersion: top,
          backupId: input.backupId,
          status: 'completed',
        });
      });
      if (run % 2) bareTimes.push(await input.bareRestore());
      await settle();
      const workflowId = `rollback-production-bench-${run}-${Date.now()}`;
      const startedAt = performance.now();
      const { ms, value } = await timeIt(
        () =>
          worker.client.workflow.execute('emergencyRollback', {
            taskQueue: worker.taskQueue,
            workflowId,
            args: [
              {
                environment: 'production',
                initiator: 'bench',
                mode: 'full-emergency',
                breakGlass: { reason: 'benchmark of the full emergency rollback' },
                options: { watchWindow: '0s', watchInterval: '100ms' },
              },
            ],
          }) as Promise<{
            finalState: string;
            reason?: string;
            toVersion?: number;
            archiveWorkflowId?: string;
            steps: { name: string; startedAt?: string; endedAt?: string }[];
          }>,
      );
      if (value.finalState !== 'completed' || value.toVersion !== input.backupVersion)
        throw new Error(
          `emergencyRollback ended ${value.finalState} at version ${value.toVersion ?? '?'}: ${value.reason ?? ''}`,
        );
      times.push(ms);
      const restore = stepMs(value.steps, 'restore backup');
      const backup = stepMs(value.steps, 'emergency backup');
      if (restore !== undefined) restoreSteps.push(restore);
      if (backup !== undefined) backupSteps.push(backup);
      const startOf = (name: string) => value.steps.find((s) => s.name === name)?.startedAt;
      let archiveMs: number | undefined;
      if (value.archiveWorkflowId) {
        // Untimed: the next run starts only once the archive (pg_dump, drop) has ended.
        emergencyBackup = 'kept-and-archived';
        const archive = (await worker.client.workflow
          .getHandle(value.archiveWorkflowId)
          .result()) as { durationMs: number };
        archiveMs = archive.durationMs;
        archives.push(archiveMs);
        untilArchived.push(performance.now() - startedAt);
      } else if (startOf('emergency backup') === startOf('restore backup'))
        emergencyBackup = 'dump-during-restore';
      if (run % 2 === 0) bareTimes.push(await input.bareRestore());
      ctx.log(
        `emergencyRollback run ${run + 1}/${input.runs}: ${Math.round(ms)} ms, bare pg_restore beside it ${Math.round(bareTimes[run])} ms (emergency backup step ${backup ?? '?'} ms, restore ${restore ?? '?'} ms${archiveMs !== undefined ? `; archive afterwards ${archiveMs} ms` : ''})`,
      );
    }
  } finally {
    await worker.stop();
  }
  const steps = `decide → assess (last successful deploy ${input.backupVersion} → ${top}) → notify`;
  const after = 'verify version → verify system → watch (0 s window) → record → incident document';
  const how = {
    'kept-and-archived': `${steps} → restore the deploy's backup into a scratch database (toc.dat checked first, row data hashed during pg_restore) → swap, keeping the replaced database renamed as the emergency backup → ${after} → start the archive child workflow; timed from start to result. The archive (pg_dump of the kept database, then drop) runs after the result and is awaited, untimed, before the next run`,
    'dump-during-restore': `${steps} → emergency backup (pg_dump -Fd --compress=0) while the deploy's backup is restored into a scratch database, swapped in once the emergency backup is complete → ${after}; timed from start to result`,
    'dump-before-restore': `${steps} → emergency backup (pg_dump) → restore the deploy's backup → ${after}; timed from start to result`,
  }[emergencyBackup];
  return {
    medianMs: median(times),
    times,
    bareTimes,
    ...(restoreSteps.length ? { restoreStepMs: median(restoreSteps) } : {}),
    ...(backupSteps.length ? { emergencyBackupStepMs: median(backupSteps) } : {}),
    emergencyBackup,
    ...(archives.length
      ? { archiveMs: median(archives), untilArchivedMs: median(untilArchived) }
      : {}),
    notes: [
      `emergencyRollback --full-emergency with --break-glass, no rollback files: ${how}; ${input.runs} run(s)`,
    ],
  };
}
