import type { Command } from 'commander';
import { loadMigrations } from '../../migrations/files';
import type { Finding } from '../../migrations/types';
import { emit, type GlobalOptions } from '../output';
import { migrationsDirOption } from '../command-options';
import { registerValidateDeps } from './validate-deps';
import { registerValidateSafety } from './validate-safety';

export interface ValidateReport {
  dir: string;
  migrations: number;
  planChecksum: string;
  errors: number;
  warnings: number;
  findings: Finding[];
}

/** Structure validation of a migrations folder (names, headers, pairing, numbering, syntax). */
export async function validateStructure(dir: string): Promise<ValidateReport> {
  const { plan, findings } = await loadMigrations(dir);
  return {
    dir,
    migrations: plan.migrations.length,
    planChecksum: plan.checksum,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    findings,
  };
}

/** `file:line: severity [rule] message` — one line per finding. */
export function formatFinding(finding: Finding): string {
  const where = finding.file ? `${finding.file}${finding.line ? `:${finding.line}` : ''}: ` : '';
  return `${where}${finding.severity} [${finding.rule}] ${finding.message}`;
}

function formatReport(report: ValidateReport): string {
  const lines = report.findings.map((f) => `${report.dir}/${formatFinding(f)}`);
  const verdict =
    report.errors === 0
      ? `${report.dir}: ${report.migrations} migration pairs are well-formed`
      : `${report.dir}: ${report.errors} error${report.errors === 1 ? '' : 's'}`;
  lines.push(
    `${verdict}${report.warnings ? `, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}` : ''}`,
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  const validateCmd = migrationsDirOption(
    program
      .command('validate')
      .description(
        'check migration files: names, headers, rollback pairing, unique contiguous numbers, SQL syntax',
      ),
  ).action(async (_options: { dir: string }, cmd: Command) => {
    const options = cmd.optsWithGlobals<GlobalOptions & { dir: string }>();
    const report = await validateStructure(options.dir);
    emit(options, report, formatReport);
    if (report.errors > 0) process.exitCode = 1;
  });
  registerValidateDeps(validateCmd);
  registerValidateSafety(validateCmd);
}
