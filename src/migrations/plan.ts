import { createHash } from 'node:crypto';
import type { LedgerEntry, Migration } from './types';

/**
 * sha256 over every file's name and checksum and every migration's flags (transaction of
 * each file, high risk), in version order: identifies a plan. The flags are derived from the
 * files' headers; covering them means a plan whose flags were edited no longer matches.
 */
export function planChecksum(migrations: Migration[]): string {
  const hash = createHash('sha256');
  for (const m of [...migrations].sort((a, b) => a.version - b.version))
    hash.update(
      `${m.version}\0${m.forward.file}\0${m.forward.checksum}\0${m.rollback.file}\0${m.rollback.checksum}\0${flagsOf(m)}\n`,
    );
  return hash.digest('hex');
}

/** `tx,tx,-`: forward and rollback run in a transaction (`tx`) or not (`no-tx`), high risk (`high-risk`) or not. */
export function flagsOf(m: Pick<Migration, 'forward' | 'rollback' | 'highRisk'>): string {
  const tx = (transactional: boolean) => (transactional ? 'tx' : 'no-tx');
  return `${tx(m.forward.transactional)},${tx(m.rollback.transactional)},${m.highRisk ? 'high-risk' : '-'}`;
}

/** Migrations of the plan not yet in the ledger, in version order, up to `to` when given. */
export function pendingMigrations(
  migrations: Migration[],
  ledger: LedgerEntry[],
  to?: number,
): Migration[] {
  const applied = new Set(ledger.map((entry) => entry.version));
  return migrations
    .filter((m) => !applied.has(m.version) && (to === undefined || m.version <= to))
    .sort((a, b) => a.version - b.version);
}

/** Highest applied version (0 when nothing is applied). */
export function highestVersion(ledger: LedgerEntry[]): number {
  return ledger.reduce((max, entry) => Math.max(max, entry.version), 0);
}
