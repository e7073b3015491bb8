import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationPlan } from '../../src/migrations/types';
import { closeTestEnv } from '../support/temporal';
import {
  createRollbackStack,
  loadPlan,
  SHIPPED_MIGRATIONS,
  type RollbackStack,
} from './rollback-stack';

let plan: MigrationPlan;
let stack: RollbackStack | undefined;

beforeAll(async () => {
  plan = await loadPlan(SHIPPED_MIGRATIONS);
});
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});
afterAll(async () => {
  await closeTestEnv();
});

async function deployed(): Promise<RollbackStack> {
  stack = await createRollbackStack();
  await stack.deploy({ plan, from: 8, to: 12, appVersion: '2.0.0' });
  return stack;
}

describe('the decision matrix chooses the rollback', () => {
  it('rolls the migrations of the last deploy back for a P1 performance degradation', async () => {
    const stack = await deployed();
    const result = await stack.run({ issue: 'performance-degradation', severity: 'P1', plan });

    expect(result.finalState).toBe('completed');
    expect(result.type).toBe('migration');
    expect(result.decision).toEqual({
      type: 'migration',
      expectedTime: '10-15 minutes',
      reason: 'decision matrix: Performance degradation at P1 → migration rollback',
    });
    expect(await stack.ledgerVersion()).toBe(8);
    expect(await stack.appVersion()).toBe('2.0.0');
    expect(result.steps[0]).toMatchObject({ name: 'decide', status: 'completed' });
    expect(result.incidentMarkdown).toContain(
      '**Migration** (decision matrix): decision matrix: Performance degradation at P1 → migration rollback',
    );
    expect(result.incidentMarkdown).toContain('- Reported issue: performance-degradation at P1');
    expect(result.incidentMarkdown).toMatch(/guide's target for Migration: 10-15 minutes/);
  });

  it('rolls the application back for a P0 application failure', async () => {
    const stack = await deployed();
    const result = await stack.run({ issue: 'application-failure', severity: 'P0' });

    expect(result).toMatchObject({ finalState: 'completed', type: 'application' });
    expect(result.decision?.expectedTime).toBe('2-5 minutes');
    expect(await stack.appVersion()).toBe('1.0.0');
    expect(await stack.ledgerVersion()).toBe(12);
  });

  it('does nothing for a P3 minor issue (fix in place) and records why', async () => {
    const stack = await deployed();
    const result = await stack.run({
      issue: 'minor',
      severity: 'P3',
      plan,
      description: 'typo on the dashboard',
    });

    expect(result.finalState).toBe('no-action');
    expect(result.type).toBe('none');
    expect(result.reason).toBe('decision matrix: Minor issue at P3 → no rollback (fix in place)');
    expect(await stack.ledgerVersion()).toBe(12);
    expect(await stack.appVersion()).toBe('2.0.0');
    expect(result.incidentPath).toMatch(/incident-rollback-.*\.md$/);
    expect(result.incidentMarkdown).toContain('No rollback (fix in place)');
    expect(result.incidentMarkdown).toContain('- Nothing was changed.');
    expect(result.postMortemDue).toBeUndefined();
    expect(stack.notificationTitles()).toEqual([
      `:information_source: No rollback on ${stack.environment}: fix in place`,
    ]);
  });

  it('records what the matrix would have chosen when the operator picks the type', async () => {
    const stack = await deployed();
    const result = await stack.run({
      mode: 'application',
      issue: 'migration-failure',
      severity: 'P0',
    });

    expect(result.type).toBe('application');
    expect(result.decision?.reason).toBe(
      'chosen by the operator (--app-rollback); the decision matrix would choose full-emergency (decision matrix: Migration failure at P0 → full emergency rollback)',
    );
  });
});
