import type { SignedAuthorization } from '../../src/approvals/authorization';
import type { MigrationPlan } from '../../src/migrations/types';
import { backups, long, quick } from '../activity-proxies';
import { describeFailure, stepFailure } from '../failures';
import { firstLine, padVersion } from '../text';

/** Progress callbacks: each runs just before (or after) the activity it names. */
export interface ReturnHooks {
  beforeFiles?: () => void;
  afterFiles?: (run: { applied: { version: number }[]; toVersion: number }) => void;
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
  plan: MigrationPlan;
  version: number;
  /** Who the ledger names for the rollback files. */
  appliedBy: string;
  /** Prefix of the activity summaries in the Web UI (`compensate: `). */
  label?: string;
  /** The backup restored when the rollback files fail (none: the files only). */
  backupId?: string;
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

export type ReturnOutcome =
  | { ok: true; by: 'files' }
  | { ok: true; by: 'backup'; filesError: string }
  | { ok: false; filesError: string; restoreError?: string };

/** The ledger says the database is at `version`, or a `RollbackFailed` says where it is. */
export async function checkVersion(
  o: Pick<ReturnToVersion, 'environment' | 'plan' | 'version' | 'label' | 'hooks'>,
  how: string,
): Promise<void> {
  const { environment, version } = o;
  o.hooks?.beforeCheck?.();
  const state = await quick.readMigrationState.executeWithOptions(
    { summary: `${o.label ?? ''}check ${environment} is at version ${version}` },
    [{ environment, plan: o.plan }],
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
  const { environment, plan, version } = o;
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
          [{ environment, plan, target: version, appliedBy: o.appliedBy, ...signed() }],
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
