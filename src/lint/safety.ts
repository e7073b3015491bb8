import type { Finding, MigrationPlan } from '../migrations/types';
import { checkGuideRules, type GuideCheck } from './guide-rules';
import { describeFile } from './object-graph';
import { eachWithTurns } from '../event-loop';
import { parsePlan, type ParsedMigration } from './parse-plan';
import { findSecrets } from './secrets';
import { runSquawk, type SquawkViolation } from './squawk';

export interface SafetyOptions {
  /** Skip Squawk (guide rules and secrets only). Default false. */
  skipSquawk?: boolean;
}

export interface SafetyReport {
  findings: Finding[];
  /** Squawk findings left out because they do not apply to this format, by rule. */
  suppressed: Record<string, number>;
}

/**
 * Squawk rules that do not apply to pgshift files: the runner itself sets lock_timeout and
 * statement_timeout on every migration, and integer-width preferences are style.
 */
const NOT_APPLICABLE = new Set([
  'require-lock-timeout',
  'require-statement-timeout',
  'prefer-big-int',
  'prefer-bigint-over-int',
  'prefer-bigint-over-smallint',
  'prefer-identity',
]);

/** Squawk rules a guide rule reports with more context (kept only where the guide rule is silent). */
const COVERED_BY_GUIDE: Record<string, string> = {
  'prefer-robust-stmts': 'guide/idempotent',
  'require-concurrent-index-creation': 'guide/concurrent-index',
  'adding-required-field': 'guide/not-null-without-default',
  'adding-not-nullable-field': 'guide/not-null-without-default',
  'adding-foreign-key-constraint': 'guide/foreign-key-not-valid',
  'changing-column-type': 'guide/alter-column-type',
};

/** Squawk rules whose finding in a forward file makes the migration high risk. */
const HIGH_RISK_SQUAWK = new Set([
  'adding-field-with-default',
  'adding-not-nullable-field',
  'adding-required-field',
  'adding-serial-primary-key-field',
  'adding-foreign-key-constraint',
  'ban-drop-column',
  'ban-drop-database',
  'ban-drop-table',
  'ban-truncate-cascade',
  'changing-column-type',
  'constraint-missing-not-valid',
  'disallowed-unique-constraint',
  'require-concurrent-index-creation',
  'renaming-column',
  'renaming-table',
]);

interface FileContext {
  role: 'forward' | 'rollback';
  transactional: boolean;
  guide: GuideCheck;
  /** Lines of DROP INDEX statements whose table the same file drops too (the lock is moot). */
  indexDropsWithTable: Set<number>;
}

/** In a rollback, dropping an index first and then its table needs no CONCURRENTLY. */
function indexDropsWithTable({ forward, rollback }: ParsedMigration): Set<number> {
  const parents = new Map<string, string>();
  for (const action of describeFile(forward))
    if (action.action === 'create' && action.kind === 'index' && action.parent)
      parents.set(action.key, action.parent);
  const drops = describeFile(rollback).filter((a) => a.action === 'drop');
  const droppedTables = new Set(drops.filter((a) => a.kind === 'table').map((a) => a.key));
  return new Set(
    drops
      .filter((a) => a.kind === 'index' && droppedTables.has(parents.get(a.key) ?? ''))
      .map((a) => a.line),
  );
}

/** Turns one Squawk violation into a finding, or a reason to leave it out. */
function mapSquawk(
  violation: SquawkViolation,
  context: FileContext,
  /** The guide's findings of the violation's file. */
  guideFindings: Finding[],
): Finding | string {
  const rule = violation.rule;
  if (NOT_APPLICABLE.has(rule)) return rule;
  if (rule === 'transaction-nesting' && context.transactional) return rule;
  if (
    rule === 'require-concurrent-index-deletion' &&
    context.indexDropsWithTable.has(violation.line)
  )
    return rule;
  const covering = COVERED_BY_GUIDE[rule];
  if (
    covering &&
    guideFindings.some(
      (f) =>
        f.file === violation.file &&
        f.rule === covering &&
        f.line !== undefined &&
        Math.abs(f.line - violation.line) <= 3,
    )
  )
    return rule;
  if (covering === 'guide/idempotent' && context.transactional) return rule;
  const acknowledged = context.guide.acknowledged.some(
    (r) => violation.line >= r.from && violation.line <= r.to,
  );
  if (
    context.role === 'rollback' &&
    acknowledged &&
    ['ban-drop-table', 'ban-drop-column', 'ban-truncate-cascade'].includes(rule)
  )
    return rule;
  const severity =
    rule === 'syntax-error' || rule === 'ban-drop-database' || violation.level === 'Error'
      ? 'error'
      : 'warning';
  return {
    severity,
    rule: `squawk/${rule}`,
    message: violation.help ? `${violation.message} ${violation.help}` : violation.message,
    file: violation.file,
    line: violation.line,
    ...(context.role === 'forward' && HIGH_RISK_SQUAWK.has(rule) ? { highRisk: true } : {}),
  };
}

/** Squawk violations mapped between two turns of the event loop (each is quick to map). */
const VIOLATIONS_PER_TURN = 500;

/** The guide's findings of each file (Squawk's findings are compared with their own file's). */
function byFile(findings: Finding[]): Map<string, Finding[]> {
  const files = new Map<string, Finding[]>();
  for (const finding of findings) {
    const list = files.get(finding.file ?? '');
    if (list) list.push(finding);
    else files.set(finding.file ?? '', [finding]);
  }
  return files;
}

function byPosition(a: Finding, b: Finding): number {
  return (
    (a.file ?? '').localeCompare(b.file ?? '') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    a.rule.localeCompare(b.rule)
  );
}

/**
 * `validate safety` with what it left out: Squawk (the real linter) on every forward and
 * rollback file, mapped to this format, plus the guide's own rules and a secrets scan.
 */
export async function lintSafety(
  plan: MigrationPlan,
  options: SafetyOptions = {},
): Promise<SafetyReport> {
  const parsed = await parsePlan(plan);
  const contexts = new Map<string, FileContext>();
  const findings: Finding[] = [];
  await eachWithTurns(parsed, (parsedMigration) => {
    const { migration, forward, rollback } = parsedMigration;
    const moot =
      rollback.syntaxError || forward.syntaxError
        ? new Set<number>()
        : indexDropsWithTable(parsedMigration);
    for (const [file, role, transactional] of [
      [forward, 'forward', migration.forward.transactional],
      [rollback, 'rollback', migration.rollback.transactional],
    ] as const) {
      if (file.syntaxError)
        findings.push({
          severity: 'error',
          rule: 'guide/syntax',
          message: `${file.syntaxError.message} (PostgreSQL parser): fix the SQL`,
          file: file.file,
          line: file.syntaxError.line,
        });
      const guide = checkGuideRules(file, role, transactional);
      contexts.set(file.file, {
        role,
        transactional,
        guide,
        indexDropsWithTable: role === 'rollback' ? moot : new Set<number>(),
      });
      findings.push(...guide.findings, ...findSecrets(file.file, file.sql));
    }
  });
  const suppressed: Record<string, number> = {};
  if (!options.skipSquawk) {
    const violations = await runSquawk(
      plan.migrations.flatMap((m) => [
        { file: m.forward.file, sql: m.forward.sql, transactional: m.forward.transactional },
        { file: m.rollback.file, sql: m.rollback.sql, transactional: m.rollback.transactional },
      ]),
    );
    const guideFindings = byFile(findings);
    await eachWithTurns(
      violations,
      (violation) => {
        const context = contexts.get(violation.file);
        if (!context) return;
        const ofFile = guideFindings.get(violation.file) ?? [];
        if (violation.rule === 'syntax-error' && ofFile.some((f) => f.rule === 'guide/syntax'))
          return;
        const mapped = mapSquawk(violation, context, ofFile);
        if (typeof mapped === 'string') suppressed[mapped] = (suppressed[mapped] ?? 0) + 1;
        else findings.push(mapped);
      },
      VIOLATIONS_PER_TURN,
    );
  }
  return { findings: findings.sort(byPosition), suppressed };
}

/** Safety findings for a plan (see lintSafety). */
export async function validateSafety(
  plan: MigrationPlan,
  options: SafetyOptions = {},
): Promise<Finding[]> {
  return (await lintSafety(plan, options)).findings;
}

export interface RiskAssessment {
  highRisk: boolean;
  /** Why, one line each: "003_drop_legacy.sql:7 DROP TABLE legacy …" or the marker. */
  reasons: string[];
  /** Versions that are high risk, ascending. */
  versions: number[];
}

/**
 * Whether deploying this plan is high risk (destructive or lock-heavy forward changes, or a
 * migration marked `-- pgshift:high-risk`): production then needs an executive approval.
 */
export function assessRisk(plan: MigrationPlan, findings: Finding[]): RiskAssessment {
  const versionOf = new Map(plan.migrations.map((m) => [m.forward.file, m.version]));
  const reasons: string[] = [];
  const versions = new Set<number>();
  for (const migration of plan.migrations) {
    if (!migration.highRisk) continue;
    versions.add(migration.version);
    reasons.push(`${migration.forward.file}: marked -- pgshift:high-risk`);
  }
  for (const finding of findings) {
    if (!finding.highRisk || !finding.file) continue;
    const version = versionOf.get(finding.file);
    if (version === undefined) continue;
    versions.add(version);
    reasons.push(
      `${finding.file}${finding.line ? `:${finding.line}` : ''}: ${finding.rule} ${finding.object ?? finding.message}`,
    );
  }
  const sorted = [...versions].sort((a, b) => a - b);
  return {
    highRisk: sorted.length > 0,
    reasons,
    versions: sorted,
  };
}
