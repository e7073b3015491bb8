import { resolve } from 'node:path';
import { loadConfig } from '../config';
import { loadMigrations } from '../migrations/files';
import { MigrationFileError } from '../migrations/errors';
import { PlanStore } from '../migrations/plan-store';
import type { MigrationPlan, PlanRef } from '../migrations/types';

/**
 * Reads the migrations folder into a whole plan (files and checksums).
 * Structure errors stop here, naming each file: a workflow never starts on a broken plan.
 */
export async function readPlanForWorkflow(dir: string): Promise<MigrationPlan> {
  const { plan, findings } = await loadMigrations(resolve(dir));
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length) throw new MigrationFileError(errors);
  if (plan.migrations.length === 0)
    throw new MigrationFileError(
      [{ severity: 'error', rule: 'no-migrations', message: `no migration files in ${dir}` }],
      `no migration files in ${dir}: add NNN_description.sql files or pass --dir`,
    );
  return plan;
}

/**
 * Reads the migrations folder, stores its files in the plan store (config `plansDir`, or
 * `plansDir` given) and returns what the workflow carries: names, flags and checksums, no SQL.
 */
export async function storePlanForWorkflow(
  dir: string,
  plansDir: string = loadConfig().plansDir,
): Promise<PlanRef> {
  return new PlanStore(plansDir).storePlan(await readPlanForWorkflow(dir));
}
