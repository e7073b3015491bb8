import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPlanActivities, type PlanValidation } from '../activities/plan';
import { parseConfig } from '../src/config';
import { loadPlan } from '../src/migrations/files';
import { PlanStore } from '../src/migrations/plan-store';
import { generateMigrations, writeGuideFormat } from './generate-migrations';

/**
 * The worker's `validatePlan` activity on N generated migrations read from a plan store (not
 * part of `npm run bench`): its wall time and the longest time the event loop was blocked
 * meanwhile (what delays heartbeats and the worker's workflow tasks). No server needed.
 * `node --liftoff-only --import tsx bench/validate-large-plan.ts [migrations]` (the worker's flags)
 */
async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 5000);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const workDir = mkdtempSync(join(tmpdir(), 'pgshift-validate-large-'));
  try {
    const plan = await loadPlan(
      writeGuideFormat(join(workDir, 'generated'), generateMigrations(count)),
    );
    const plansDir = join(workDir, 'plans');
    await new PlanStore(plansDir).storePlan(plan);
    const activities = createPlanActivities({ config: parseConfig({ plansDir }, null) });
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 20_000 });
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const validation: PlanValidation = await env.run(activities.validatePlan, {
      plan: { checksum: plan.checksum },
    });
    const wallMs = performance.now() - started;
    delay.disable();
    say(
      `migrations:            ${validation.migrations} (${validation.errors.length} errors, ${validation.warningCount} warnings)`,
    );
    say(`validatePlan:          ${(wallMs / 1000).toFixed(1)} s`);
    say(`longest loop block:    ${Math.round(delay.max / 1e6)} ms`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
