import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { MigrationPlan } from '../../src/migrations/types';
import { createDeployStack, loadFixturePlan, type DeployStack } from '../deploy/deploy-stack';
import { closeTestEnv } from './temporal';

/**
 * The deploy stack of one test file (test/deploy/deploy-stack.ts) with the hooks every deploy
 * test needs: created once with the `deploy-churn` plan loaded and, unless `certify: false`,
 * certified by a passing rehearsal; stopped with the Temporal test environment at the end;
 * a fresh production database and a reset example app before each test. `production`: the
 * production environment's config (a function when it depends on an earlier beforeAll).
 * Hooks run in the order they are registered: register a file's own hooks first.
 *
 *   let stack: DeployStack;
 *   let plan: MigrationPlan;
 *   useDeployStack({}, (ready) => ({ stack, plan } = ready));
 */
export function useDeployStack(
  production: Record<string, unknown> | (() => Record<string, unknown>) = {},
  ready: (fixture: { stack: DeployStack; plan: MigrationPlan }) => void,
  options: { certify?: boolean } = {},
): void {
  let stack: DeployStack | undefined;
  beforeAll(async () => {
    stack = await createDeployStack(typeof production === 'function' ? production() : production);
    const plan = await loadFixturePlan('deploy-churn');
    if (options.certify !== false) await stack.certify(plan);
    ready({ stack, plan });
  });
  afterAll(async () => {
    await stack?.stop();
    await closeTestEnv();
  });
  beforeEach(async () => {
    await stack!.useFreshProduction();
    await stack!.resetApp();
  });
}
