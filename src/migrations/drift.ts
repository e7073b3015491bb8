import type { Client } from 'pg';
import { DriftError } from './errors';
import { readStatus } from './status';
import type { StatusReport } from './types';
import type { MigrationPlan } from './types';

const short = (checksum: string) => checksum.slice(0, 12);

/** One line per drifted file or missing file; empty when the ledger matches the files. */
export function describeDrift(report: StatusReport): string[] {
  const lines = report.drifted.map(
    (d) =>
      `${d.file} (version ${d.version}) changed after it was applied: ledger checksum ${short(d.expected)}…, file now ${short(d.actual)}…`,
  );
  for (const version of report.missingFiles) {
    const entry = report.applied.find((e) => e.version === version);
    lines.push(
      `version ${String(version).padStart(3, '0')} (${entry?.name ?? '?'}) is applied but its files ${String(version).padStart(3, '0')}_${entry?.name ?? '*'}.sql / ${String(version).padStart(3, '0')}_rollback.sql are missing or malformed`,
    );
  }
  return lines;
}

/** Throws DriftError when the report shows drifted or missing files. */
export function assertNoDrift(report: StatusReport): void {
  const lines = describeDrift(report);
  if (lines.length === 0) return;
  const versions = [
    ...new Set([...report.drifted.map((d) => d.version), ...report.missingFiles]),
  ].sort((a, b) => a - b);
  throw new DriftError(
    `applied migrations no longer match their files:\n  ${lines.join('\n  ')}\nRestore the files as they were applied, or accept an intentional edit with "pgshift migrate repair --reason \\"…\\""`,
    versions,
  );
}

/** Checks that every applied migration's files are unchanged; throws DriftError naming each. */
export async function validateApplied(client: Client, plan: MigrationPlan): Promise<StatusReport> {
  const report = await readStatus(client, plan);
  assertNoDrift(report);
  return report;
}
