import { MockActivityEnvironment } from '@temporalio/testing';
import type { Activities } from '../activities';
import type { MigrationPlan } from '../src/migrations/types';
import { rehearsalTargets } from '../workflows/staging-rehearsal';

/**
 * The staging rehearsal's success path without Temporal: the same activities, called in the
 * same order with the same inputs as `workflows/staging-rehearsal.ts`, each inside a
 * MockActivityEnvironment (an activity Context for heartbeats; no server, no orchestration).
 * This is the "same steps run directly" baseline of issue 3.
 */
export async function rehearseDirectly(
  activities: Activities,
  input: { environment: string; plan: MigrationPlan; initiator: string; runId: string },
): Promise<{ toVersion: number }> {
  const { environment, plan, initiator, runId: workflowId } = input;
  const call = <A, R>(fn: (arg: A) => Promise<R>, arg: A): Promise<R> =>
    new MockActivityEnvironment().run(fn, arg);
  const top = Math.max(0, ...plan.migrations.map((m) => m.version));
  const appliedBy = `${initiator} (rehearsal ${workflowId})`;

  // validate
  const validation = await call(activities.validatePlan, { plan });
  if (validation.errors.length)
    throw new Error(`validation failed: ${validation.errors[0].message}`);
  const state = await call(activities.readMigrationState, { environment, plan });
  const fromVersion = state.currentVersion;
  const policy = await call(activities.loadEnvironmentPolicy, { environment });
  const rollbackDepth = policy.rehearsalRollbackDepth;

  // backup
  await call(activities.backupDatabase, { environment, name: `${workflowId}-before` });
  const rowCounts = await call(activities.captureRowCounts, { environment });
  await call(activities.captureSchema, { environment, workflowId, label: `v${fromVersion}` });

  // migrate, stopping at each rehearsal target to snapshot it
  const targets = rehearsalTargets(top, fromVersion, rollbackDepth);
  const stops = [...targets.filter((t) => t > fromVersion).sort((a, b) => a - b), top];
  for (const stop of stops) {
    if (stop > fromVersion)
      await call(activities.applyMigrations, { environment, plan, to: stop, appliedBy });
    await call(activities.captureSchema, { environment, workflowId, label: `v${stop}` });
  }

  // verify
  const verification = await call(activities.verifyEnvironment, {
    environment,
    baselineRowCounts: rowCounts,
    skipHttp: true,
  });
  if (!verification.ok) throw new Error('verification failed');

  // rollback rehearsal
  for (const target of targets) {
    await call(activities.revertMigrations, { environment, plan, target, appliedBy });
    const now = await call(activities.readMigrationState, { environment, plan });
    if (now.currentVersion !== target) throw new Error(`not at ${target}`);
    if (target >= fromVersion) {
      const same = await call(activities.compareSchema, {
        environment,
        workflowId,
        label: `v${target}`,
      });
      if (!same.matches) throw new Error(`schema at ${target} differs`);
    }
  }
  await call(activities.applyMigrations, { environment, plan, to: top, appliedBy });
  const reapplied = await call(activities.compareSchema, {
    environment,
    workflowId,
    label: `v${top}`,
  });
  if (!reapplied.matches) throw new Error('re-applied schema differs');

  // rollback tests in scratch databases
  const tests = await call(activities.runRollbackTests, { environment, plan });
  if (!tests.passed) throw new Error(`rollback tests failed: ${tests.failures[0]}`);

  // functional checks
  const functional = await call(activities.verifyEnvironment, {
    environment,
    baselineRowCounts: rowCounts,
  });
  if (!functional.ok) throw new Error('functional checks failed');

  // certificate and report
  const certificate = await call(activities.recordRehearsalCertificate, {
    environment,
    planChecksum: plan.checksum,
    workflowId,
    toVersion: top,
  });
  await call(activities.writeReport, {
    workflowId,
    kind: 'rehearsal',
    markdown: `# Staging rehearsal PASSED\n\n${environment} at version ${top}, certificate ${certificate.passedAt}\n`,
    data: { environment, fromVersion, toVersion: top, planChecksum: plan.checksum },
  });
  return { toVersion: top };
}
