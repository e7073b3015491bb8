import { planArgument } from '../../src/migrations/plan-ref';
import type { PlanRef } from '../../src/migrations/types';
import { long, quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { padVersion } from '../text';
import type { RehearsalRun } from './run';

/** Versions the rehearsal rolls back to: newest first, below `top`, never negative. */
export function rehearsalTargets(
  top: number,
  fromVersion: number,
  depth: number,
  explicit?: number[],
): number[] {
  const wanted = explicit ?? [...Array.from({ length: depth }, (_, i) => top - 1 - i), fromVersion];
  return [...new Set(wanted.filter((t) => t >= 0 && t < top))].sort((a, b) => b - a);
}

/**
 * The rollback rehearsal on staging itself: roll back to each target, proving each one, then
 * re-apply to the top and prove the schema is the one the migrations gave the first time.
 * Returns what was visited.
 */
export async function rehearseRollbacks(run: RehearsalRun, targets: number[]): Promise<string[]> {
  const { environment, plan, tracker, top } = run;
  tracker.start(
    'rollback rehearsal',
    `rolling back to ${targets.join(', ') || 'nothing'} and re-applying`,
  );
  const visited = await visitTargets(run, targets);
  await long.applyMigrations.executeWithOptions(
    { summary: `re-apply migrations up to ${padVersion(top)} on ${environment}` },
    [{ environment, plan: planArgument(plan), to: top, appliedBy: run.appliedBy }],
  );
  await expectSnapshot(
    run,
    top,
    (differences) =>
      `re-applying after the rollback rehearsal did not give the same schema: ${differences}`,
  );
  tracker.complete(
    'rollback rehearsal',
    `rolled back to ${visited.join(', ') || 'no target'}, re-applied to ${top}`,
  );
  return visited;
}

/** Every rollback file tested in a scratch database: the schema restored exactly. */
export async function testRollbacks(run: RehearsalRun, visited: string[]): Promise<void> {
  const { environment, plan, tracker } = run;
  tracker.start('rollback tests', `testing every rollback file in a scratch database`);
  const tests = await long.runRollbackTests.executeWithOptions(
    { summary: `test ${plan.migrations.length} rollbacks in a scratch database` },
    [{ environment, plan: planArgument(plan) }],
  );
  if (!tests.passed)
    throw stepFailure(
      'RollbackIntegrityError',
      `rollback tests failed: ${tests.failures.slice(0, 5).join('; ')}`,
    );
  tracker.complete(
    'rollback tests',
    `${tests.tested} rollbacks restore the schema exactly (${tests.durationMs} ms)`,
  );
  run.judge(
    'Rollback procedures tested and verified',
    'passed',
    `staging rolled back to ${visited.join(', ') || 'no target'} and re-applied; ${tests.tested} rollback files tested`,
  );
}

/**
 * Rolls staging back to each target, newest first, proving each one: the version, and the
 * schema snapshot taken on the way up when the target is at or above where the run started.
 */
async function visitTargets(run: RehearsalRun, targets: number[]): Promise<string[]> {
  const { environment, plan, tracker, fromVersion } = run;
  const visited: string[] = [];
  let level = run.top;
  for (const target of targets) {
    const reverted = rollbackFilesBetween(plan, target, level);
    level = target;
    tracker.setPhase('rollback rehearsal', `rolling ${environment} back to version ${target}`);
    await long.revertMigrations.executeWithOptions(
      { summary: `roll back ${environment} to ${padVersion(target)}` },
      [{ environment, plan: planArgument(plan), target, appliedBy: run.appliedBy }],
    );
    const now = await quick.readMigrationState.executeWithOptions(
      { summary: `check ${environment} is at version ${target}` },
      [{ environment, plan: planArgument(plan) }],
    );
    if (now.currentVersion !== target)
      throw stepFailure(
        'RollbackFailed',
        `after rolling back to ${target}, ${environment} is at ${now.currentVersion}`,
      );
    if (target >= fromVersion) {
      await expectSnapshot(
        run,
        target,
        (differences) => `${reverted} did not restore: ${differences} (rolling back to ${target})`,
      );
      visited.push(`${target} (schema identical)`);
    } else visited.push(`${target} (version verified)`);
  }
  return visited;
}

/** Staging's schema must equal the snapshot taken at `version`; else RollbackIntegrityError. */
async function expectSnapshot(
  run: RehearsalRun,
  version: number,
  failure: (differences: string) => string,
): Promise<void> {
  const same = await quick.compareSchema.executeWithOptions(
    { summary: `compare schema of ${run.environment} with version ${version}` },
    [{ environment: run.environment, workflowId: run.workflowId, label: `v${version}` }],
  );
  if (!same.matches)
    throw stepFailure('RollbackIntegrityError', failure(same.differences.slice(0, 5).join('; ')));
}

/** The rollback files that run when going from version `from` down to `to`, newest first. */
function rollbackFilesBetween(plan: PlanRef, to: number, from: number): string {
  const files = plan.migrations
    .filter((m) => m.version > to && m.version <= from)
    .sort((a, b) => b.version - a.version)
    .map((m) => m.rollback.file);
  return files.length > 0 ? files.join(' + ') : `rolling back to ${to}`;
}
