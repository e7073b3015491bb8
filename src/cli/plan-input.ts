import { resolve } from 'node:path';
import { loadMigrations } from '../migrations/files';
import { MigrationFileError } from '../migrations/errors';
import type { MigrationPlan } from '../migrations/types';

/**
 * Reads the migrations folder into the plan a workflow carries (files and checksums).
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
