import { planArgument } from '../../src/migrations/plan-ref';
import { ParentClosePolicy, patched, startChild } from '@temporalio/workflow';
import type { SignedAuthorization } from '../../src/approvals/authorization';
import type { PlanRef } from '../../src/migrations/types';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import { backups, long, quick } from '../activity-proxies';
import { archivePreservedDatabase } from '../archive-preserved-database';
import { describeFailure, stepFailure } from '../failures';
import { firstLine, padVersion } from '../text';

/**
 * Patch: a restore done by compensation keeps the database it replaces (renamed at the swap)
 * until the restored one is verified, then a child workflow archives and drops it.
 */
export const COMPENSATION_KEEPS_REPLACED_PATCH = 'compensation-keeps-replaced-database';

/** Progress callbacks: each runs just before (or after) the activity it names. */
export interface ReturnHooks {
  beforeFiles?: () => void;
  afterFiles?: (run: {
    applied: { version: number }[];
    appliedCount?: number;
    toVersion: number;
  }) => void;
  /** The rollback files failed; may wait (an approval) or throw to stop before the restore. */
  filesFailed?: (reason: string) => Promise<void> | void;
  beforeRestore?: () => void;
  afterRestore?: (restored: { durationMs: number }) => void;
  beforeCheck?: () => void;
  /** The version the ledger showed (before a mismatch fails the step). */
  checked?: (currentVersion: number) => void;
}

export interface ReturnToVersion {
  environment: string;
  plan: PlanRef;
  version: number;
  /** Who the ledger names for the rollback files. */
  appliedBy: string;
  /** Prefix of the activity summaries in the Web UI (`compensate: `). */
  label?: string;
  /** The backup restored when the rollback files fail (none: the files only). */
  backupId?: string;
  /** Rollback files changed since applied are run anyway, recorded with this reason. */
  acceptChangedRollback?: { reason: string; acceptedBy: string };
  /**
   * A backup restore keeps the replaced database (named from `key`) until the restored one is
   * verified, then archives it as backup `<key>-replaced` and drops it (workflow `<key>-archive`).
   */
  keepReplaced?: { key: string; initiator: string };
  /** Read the version first and move up or down with the files (staging's rehearsal). */
  eitherDirection?: boolean;
  /** After the files, prove the schema equals this snapshot instead of checking the version. */
  schemaSnapshot?: { workflowId: string; label: string };
  hooks?: ReturnHooks;
  /**
   * The signed decisions behind the change, for the activities to verify (production tiers);
   * read at each call, so an approval granted on the way (before a restore) is included.
   */
  authorize?: () => SignedAuthorization;
}

/** The database a restore replaced: kept until the restored one was verified. */
export interface KeptDatabase {
  database: string;
  /** The archive workflow started once the restored database was verified. */
  archiveWorkflowId?: string;
}

export type ReturnOutcome =
  | { ok: true; by: 'files' }
  | { ok: true; by: 'backup'; filesError: string; kept?: KeptDatabase }
  | { ok: false; filesError: string; restoreError?: string; kept?: KeptDatabase };

/** The ledger says the database is at `version`, or a `RollbackFailed` says where it is. */
export async function checkVersion(
  o: Pick<ReturnToVersion, 'environment' | 'plan' | 'version' | 'label' | 'hooks'>,
  how: string,
): Promise<void> {
  const { environment, version } = o;
  o.hooks?.beforeCheck?.();
  const state = await quick.readMigrationState.executeWithOptions(
    { summary: `${o.label ?? ''}check ${environment} is at version ${version}` },
    [{ environment, plan: planArgument(o.plan) }],
  );
  o.hooks?.checked?.(state.currentVersion);
  if (state.currentVersion !== version)
    throw stepFailure(
      'RollbackFailed',
      `after ${how}, ${environment} is at version ${state.currentVersion}, not ${version}`,
    );
}

/**
 * Brings a database back to a version, the one way every workflow does it: the rollback files
 * (then the version, or the schema, is checked); when they fail, the backup (then the version
 * is checked). Never throws for a failed step: the outcome says what happened.
 */
export async function returnToVersion(o: ReturnToVersion): Promise<ReturnOutcome> {
  const { environment, version } = o;
  const plan = planArgument(o.plan);
  const label = o.label ?? '';
  const hooks = o.hooks ?? {};
  const check = (how: string) => checkVersion(o, how);
  const signed = () => (o.authorize ? { authorization: o.authorize() } : {});
  try {
    hooks.beforeFiles?.();
    const up =
      o.eitherDirection &&
      (
        await quick.readMigrationState.executeWithOptions(
          { summary: `${label}read the version of ${environment}` },
          [{ environment, plan }],
        )
      ).currentVersion < version;
    const run = up
      ? await long.applyMigrations.executeWithOptions(
          { summary: `${label}re-apply ${environment} up to ${padVersion(version)}` },
          [{ environment, plan, to: version, appliedBy: o.appliedBy, ...signed() }],
        )
      : await long.revertMigrations.executeWithOptions(
          {
            summary: `${label}roll ${environment} back to ${padVersion(version)} with the rollback files`,
          },
          [
            {
              environment,
              plan,
              target: version,
              appliedBy: o.appliedBy,
              ...signed(),
              ...(o.acceptChangedRollback
                ? { acceptChangedRollback: o.acceptChangedRollback }
                : {}),
            },
          ],
        );
    hooks.afterFiles?.(run);
    if (o.schemaSnapshot) {
      const same = await quick.compareSchema.executeWithOptions(
        { summary: `${label}compare schema with version ${version}` },
        [{ environment, ...o.schemaSnapshot }],
      );
      if (!same.matches)
        throw stepFailure(
          'RollbackIntegrityError',
          `schema differs after revert: ${same.differences.slice(0, 3).join('; ')}`,
        );
    } else await check('the rollback files');
    return { ok: true, by: 'files' };
  } catch (filesError) {
    const reason = firstLine(describeFailure(filesError).message);
    if (!o.backupId) return { ok: false, filesError: reason };
    await hooks.filesFailed?.(reason);
    const keep =
      o.keepReplaced && patched(COMPENSATION_KEEPS_REPLACED_PATCH) ? o.keepReplaced : undefined;
    if (keep) return restoreKeepingReplaced(o, o.backupId, reason, keep);
    try {
      hooks.beforeRestore?.();
      const restored = await backups.restoreDatabase.executeWithOptions(
        { summary: `${label}pg_restore ${o.backupId} into ${environment}` },
        [{ environment, backupId: o.backupId, ...signed() }],
      );
      hooks.afterRestore?.(restored);
      await check(`restoring backup ${o.backupId}`);
      return { ok: true, by: 'backup', filesError: reason };
    } catch (restoreError) {
      return {
        ok: false,
        filesError: reason,
        restoreError: firstLine(describeFailure(restoreError).message),
      };
    }
  }
}

/**
 * The backup fallback that keeps what it replaces: the restored database is swapped in and
 * the replaced one renamed; only once the version is verified is the replaced one archived
 * (pg_dump) and dropped by an abandoned child workflow. A failed check leaves it in place.
 */
async function restoreKeepingReplaced(
  o: ReturnToVersion,
  backupId: string,
  filesError: string,
  keep: { key: string; initiator: string },
): Promise<ReturnOutcome> {
  const { environment } = o;
  const label = o.label ?? '';
  let kept: KeptDatabase | undefined;
  try {
    o.hooks?.beforeRestore?.();
    const restored = await backups.restoreDatabasePreservingLive.executeWithOptions(
      {
        summary: `${label}pg_restore ${backupId} into ${environment}, keeping the replaced database`,
      },
      [
        {
          environment,
          backupId,
          incidentId: keep.key,
          ...(o.authorize ? { authorization: o.authorize() } : {}),
        },
      ],
    );
    if (restored.preservedDatabase) kept = { database: restored.preservedDatabase };
    o.hooks?.afterRestore?.(restored);
    await checkVersion(o, `restoring backup ${backupId}`);
  } catch (restoreError) {
    return {
      ok: false,
      filesError,
      restoreError: `${firstLine(describeFailure(restoreError).message)}${kept ? ` (the replaced database is kept as ${kept.database})` : ''}`,
      ...(kept ? { kept } : {}),
    };
  }
  if (kept) kept.archiveWorkflowId = await archiveReplaced(environment, kept.database, keep);
  return { ok: true, by: 'backup', filesError, ...(kept ? { kept } : {}) };
}

/** Starts the archive (then drop) of a replaced database; undefined when it cannot start. */
async function archiveReplaced(
  environment: string,
  database: string,
  keep: { key: string; initiator: string },
): Promise<string | undefined> {
  const workflowId = `${keep.key}-archive`;
  try {
    await startChild(archivePreservedDatabase, {
      workflowId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: PgshiftEnvironment, value: environment },
        { key: PgshiftWorkflowKind, value: 'archivePreservedDatabase' },
        { key: PgshiftInitiator, value: keep.initiator },
      ],
      args: [
        {
          environment,
          database,
          backupName: `${keep.key}-replaced`,
          incidentId: keep.key,
          keepDatabase: false,
        },
      ],
    });
    return workflowId;
  } catch {
    return undefined;
  }
}
