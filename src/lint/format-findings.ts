import type { Finding } from '../migrations/types';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function countFindings(findings: Finding[]): { errors: number; warnings: number } {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return { errors, warnings: findings.length - errors };
}

/**
 * Human rendering of findings, grouped by file: `file:line severity rule message`, a blank
 * line between files, then a summary line.
 */
export function formatFindings(findings: Finding[], summaryPrefix: string): string {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = finding.file ?? '';
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  const blocks = [...groups.keys()]
    .sort((a, b) => a.localeCompare(b))
    .map((file) =>
      groups
        .get(file)!
        .sort((a, b) => (a.line ?? 0) - (b.line ?? 0))
        .map((f) => {
          const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '(plan)';
          return `${where} ${f.severity} ${f.rule} ${f.message}`;
        })
        .join('\n'),
    );
  const { errors, warnings } = countFindings(findings);
  const summary = `${summaryPrefix}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
  return [...blocks, summary].join('\n\n');
}
