import { join } from 'node:path';
import { createActivities } from '../activities';
import { parseConfig } from '../src/config';
import { loadPlan } from '../src/migrations/files';
import { generateMigrations, writeGuideFormat } from './generate-migrations';
import { startInfra } from './infra';
import { startBenchWorker } from './temporal-harness';

/**
 * Diagnostic (not part of `npm run bench`): runs one staging rehearsal through Temporal and
 * prints where its time went, from the workflow history: per activity, the time from being
 * scheduled to being started (queueing), started to completed (work), and the workflow-task
 * time between one activity's completion and the next one's scheduling (orchestration).
 * `npx tsx bench/diagnose-rehearsal.ts [migrations]`
 */
async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 50);
  const infra = await startInfra((line) => process.stderr.write(`${line}\n`));
  try {
    const dir = writeGuideFormat(join(infra.workDir, 'diag'), generateMigrations(count));
    const plan = await loadPlan(dir);
    const env: NodeJS.ProcessEnv = {};
    const config = parseConfig(
      {
        backupsDir: join(infra.workDir, 'b'),
        reportsDir: join(infra.workDir, 'r'),
        environments: { staging: {} },
      },
      null,
    );
    const worker = await startBenchWorker(
      infra,
      createActivities({ config, env, scratchServerUrl: infra.serverUrl }),
    );
    try {
      for (const round of [1, 2]) {
        env.STAGING_DATABASE_URL = await infra.createDatabase('diag');
        const workflowId = `diag-${round}-${Date.now()}`;
        const started = Date.now();
        await worker.client.workflow.execute('stagingRehearsal', {
          taskQueue: worker.taskQueue,
          workflowId,
          args: [{ environment: 'staging', plan, initiator: 'diag', options: {} }],
        });
        const total = Date.now() - started;
        const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
        const ms = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) =>
          Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
        const events = history.events ?? [];
        const scheduled = new Map<string, { name: string; at: number; started?: number }>();
        let queue = 0;
        let work = 0;
        let activities = 0;
        const rows: string[] = [];
        for (const e of events) {
          const id = String(e.eventId);
          if (e.activityTaskScheduledEventAttributes)
            scheduled.set(id, {
              name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
              at: ms(e),
            });
          if (e.activityTaskStartedEventAttributes) {
            const s = scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
            if (s) s.started = ms(e);
          }
          if (e.activityTaskCompletedEventAttributes) {
            const s = scheduled.get(
              String(e.activityTaskCompletedEventAttributes.scheduledEventId),
            );
            if (s && s.started !== undefined) {
              activities++;
              queue += s.started - s.at;
              work += ms(e) - s.started;
              rows.push(
                `${s.name.padEnd(28)} queued ${s.started - s.at} ms, ran ${ms(e) - s.started} ms`,
              );
            }
          }
        }
        const first = ms(events[0]);
        const last = ms(events[events.length - 1]);
        console.log(
          `\nround ${round}: ${count} migrations, ${total} ms end to end, ${events.length} history events, ${activities} activities`,
        );
        console.log(
          `  in activities: ${work} ms; activities waiting to start: ${queue} ms; rest (workflow tasks, client): ${total - work - queue} ms; history span ${last - first} ms`,
        );
        if (round === 2) console.log(rows.map((r) => `  ${r}`).join('\n'));
        await infra.dropDatabase(env.STAGING_DATABASE_URL);
      }
    } finally {
      await worker.stop();
    }
  } finally {
    await infra.stop();
  }
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
