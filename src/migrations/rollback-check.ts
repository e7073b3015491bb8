import type { Client } from 'pg';
import { namesOfMigration } from './named-objects';
import { snapshotSchema, withCatalogSettings, type CatalogSnapshot } from './snapshot';
import { diffSnapshots, type SchemaDifference } from './snapshot-diff';
import { changesOutsideScope, resolveScope, type ResolvedScope } from './snapshot-scope';
import type { Migration } from './types';

/**
 * One migration's rollback proof at the cost of what it touches: before the migration,
 * snapshot only the objects it can change (its scope) and take the catalog guard; after its
 * rollback, snapshot the same scope again and compare. When the guard shows a change outside
 * the scope (or a schema changed, which renames everything in it), compare whole schemas
 * instead, and say so: the verdict is always the one a whole-schema comparison gives.
 */
export interface RollbackCheck {
  migration: Migration;
  /** Null when a file does not parse: `before` is then a whole-schema snapshot. */
  scope: ResolvedScope | null;
  names: string[];
  before: CatalogSnapshot;
}

export interface RollbackComparison {
  differences: SchemaDifference[];
  /** Set when whole schemas were compared: why, as a sentence naming the files. */
  fallback?: string;
}

/** Takes the "before" side of the proof; call it just before applying the migration. */
export async function beginRollbackCheck(
  client: Client,
  migration: Migration,
): Promise<RollbackCheck> {
  const names = await namesOfMigration(migration);
  if (names === null)
    return { migration, scope: null, names: [], before: await snapshotSchema(client) };
  return withCatalogSettings(client, async () => {
    const scope = await resolveScope(client, names);
    return {
      migration,
      scope,
      names,
      before: await snapshotSchema(client, { scope: scope.snapshot }),
    };
  });
}

/**
 * Compares the database now (after the rollback) with the check's "before". `fullBefore`
 * gives the whole-schema snapshot of the database as it was before the migration, for the
 * fallback; it is only called when the guard saw a change outside the scope.
 */
export async function compareAfterRollback(
  client: Client,
  check: RollbackCheck,
  fullBefore: () => Promise<CatalogSnapshot>,
): Promise<RollbackComparison> {
  if (check.scope === null)
    return { differences: diffSnapshots(check.before, await snapshotSchema(client)) };
  const scope = check.scope;
  return withCatalogSettings(client, () => compareScoped(client, check, scope, fullBefore));
}

async function compareScoped(
  client: Client,
  check: RollbackCheck,
  scope: ResolvedScope,
  fullBefore: () => Promise<CatalogSnapshot>,
): Promise<RollbackComparison> {
  const after = await resolveScope(client, check.names, {
    carry: scope.snapshot,
    since: scope.watermark,
  });
  const outside = changesOutsideScope(scope.guard, after.guard);
  const { forward, rollback } = check.migration;
  let reason: string;
  if (outside.length === 0) {
    const differences = diffSnapshots(
      check.before,
      await snapshotSchema(client, { scope: after.snapshot }),
    );
    if (differences.length === 0) return { differences };
    if (differences.some((d) => d.object.startsWith('schema ')))
      reason = `a schema that ${forward.file} or ${rollback.file} names changed, and with it the name of everything in it`;
    else {
      // Counted only now, not at every check: a table can have thousands of dependents (every
      // view over it). The guard saw no change outside the scope: they are the same as before.
      const { dependents } = await resolveScope(client, check.names, {
        carry: after.snapshot,
        dependents: true,
      });
      if (!dependents) return { differences };
      reason = `objects that ${forward.file} or ${rollback.file} names changed, and ${dependents} other object${dependents === 1 ? '' : 's'} depend${dependents === 1 ? 's' : ''} on them`;
    }
  } else
    reason = `catalog rows outside the objects that ${forward.file} and ${rollback.file} name changed (${outside.join(', ')})`;
  return {
    differences: diffSnapshots(await fullBefore(), await snapshotSchema(client)),
    fallback: `${rollback.file}: ${reason}: compared the whole schema instead`,
  };
}
