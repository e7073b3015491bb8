import type { Finding } from '../migrations/types';
import { describeStatement } from './object-graph';
import type { AstNode, ParsedFile, ParsedStatement } from './sql-parse';

/** Which half of a migration a file is. */
export type FileRole = 'forward' | 'rollback';

export interface GuideCheck {
  findings: Finding[];
  /** Line ranges of destructive statements that carry a data-loss WARNING comment. */
  acknowledged: { from: number; to: number }[];
}

const warningComment = /--\s*WARNING\s*:/i;

function tableName(rv: AstNode): string {
  return rv.schemaname && rv.schemaname !== 'public'
    ? `${rv.schemaname}.${rv.relname}`
    : rv.relname;
}

function relationKey(rv: AstNode): string {
  return `relation:${rv.schemaname ?? 'public'}.${rv.relname}`;
}

function objectNames(node: AstNode): string {
  return (node.objects ?? [])
    .map((o: AstNode) => {
      const parts = o.List?.items ?? o.ObjectWithArgs?.objname ?? o.TypeName?.names ?? [o];
      return parts
        .map((i: AstNode) => i.String?.sval)
        .filter(Boolean)
        .join('.');
    })
    .join(', ');
}

/** A description of what a statement destroys, or undefined when it keeps all data. */
function destruction(statement: ParsedStatement): string | undefined {
  const node = statement.node;
  switch (statement.type) {
    case 'DropStmt': {
      const names = objectNames(node);
      if (node.removeType === 'OBJECT_TABLE') return `DROP TABLE ${names}`;
      if (node.removeType === 'OBJECT_SCHEMA' && node.behavior === 'DROP_CASCADE')
        return `DROP SCHEMA ${names} CASCADE`;
      return undefined;
    }
    case 'AlterTableStmt': {
      const dropped = (node.cmds ?? [])
        .map((c: AstNode) => c.AlterTableCmd)
        .filter((c: AstNode) => c?.subtype === 'AT_DropColumn')
        .map((c: AstNode) => c.name);
      return dropped.length
        ? `DROP COLUMN ${dropped.map((c: string) => `${tableName(node.relation)}.${c}`).join(', ')}`
        : undefined;
    }
    case 'TruncateStmt':
      return `TRUNCATE ${(node.relations ?? []).map((r: AstNode) => tableName(r.RangeVar)).join(', ')}`;
    case 'DeleteStmt':
      return node.whereClause ? undefined : `DELETE FROM ${tableName(node.relation)} without WHERE`;
    default:
      return undefined;
  }
}

/** Text of the file where a data-loss WARNING comment may stand for this statement. */
function commentRegions(file: ParsedFile, index: number): string[] {
  const statements = file.statements;
  const statement = statements[index];
  const previousEnd = index > 0 ? statements[index - 1].end + 1 : 0;
  const above = file.textBetween(previousEnd, statement.start);
  const nextStart = index + 1 < statements.length ? statements[index + 1].start : Infinity;
  const after = file
    .textBetween(statement.end, Math.min(nextStart, statement.end + 400))
    .split('\n')[0];
  const within = file.textBetween(statement.start, statement.end);
  const firstWork = statements.findIndex(
    (s) => s.type !== 'TransactionStmt' && s.type !== 'VariableSetStmt',
  );
  const header = file.textBetween(0, firstWork < 0 ? 0 : statements[firstWork].start);
  return [above, after, within, header];
}

/** CREATE statements a rerun repeats harmlessly once they say IF NOT EXISTS: what each creates. */
const IF_NOT_EXISTS = new Map<string, (node: AstNode) => string>([
  [
    'CreateTableAsStmt',
    (node) =>
      `${node.objtype === 'OBJECT_MATVIEW' ? 'MATERIALIZED VIEW' : 'TABLE AS'} ${tableName(node.into.rel)}`,
  ],
  ['CreateSeqStmt', (node) => `SEQUENCE ${tableName(node.sequence)}`],
  ['CreateSchemaStmt', (node) => `SCHEMA ${node.schemaname}`],
  ['CreateExtensionStmt', (node) => `EXTENSION ${node.extname}`],
]);

/** CREATE statements a rerun repeats harmlessly once they say OR REPLACE: the kind, and its name. */
const OR_REPLACE = new Map<string, [kind: string, name: (node: AstNode) => string]>([
  ['ViewStmt', ['VIEW', (node) => ` ${tableName(node.view)}`]],
  ['CreateFunctionStmt', ['FUNCTION', () => '']],
  ['CreateTrigStmt', ['TRIGGER', (node) => ` ${node.trigname}`]],
]);

class GuideRules {
  readonly findings: Finding[] = [];
  readonly acknowledged: GuideCheck['acknowledged'] = [];
  /** Relations created earlier in this same file: empty, so no lock or rewrite concern. */
  private readonly createdHere = new Set<string>();

  constructor(
    private readonly file: ParsedFile,
    private readonly role: FileRole,
    private readonly transactional: boolean,
  ) {}

  private report(
    severity: Finding['severity'],
    rule: string,
    line: number,
    message: string,
    object?: string,
    highRisk = false,
  ): void {
    this.findings.push({
      severity,
      rule,
      message,
      file: this.file.file,
      line,
      ...(object ? { object } : {}),
      ...(highRisk && this.role === 'forward' ? { highRisk: true } : {}),
    });
  }

  private existing(rv: AstNode): boolean {
    return !this.createdHere.has(relationKey(rv));
  }

  check(): GuideCheck {
    this.file.statements.forEach((statement, index) => {
      this.idempotent(statement);
      this.dataLoss(statement, index);
      this.locks(statement);
      for (const action of describeStatement(this.file, statement))
        if (action.action === 'create' && action.key.startsWith('relation:'))
          this.createdHere.add(action.key);
    });
    this.transactionHandling();
    return { findings: this.findings, acknowledged: this.acknowledged };
  }

  private idempotent(statement: ParsedStatement): void {
    const node = statement.node;
    const line = statement.line;
    const warn = (what: string, fix: string) =>
      this.report('warning', 'guide/idempotent', line, `${what} is not idempotent: ${fix}`);
    const created = IF_NOT_EXISTS.get(statement.type);
    if (created) {
      if (!node.if_not_exists) warn(`CREATE ${created(node)}`, 'add IF NOT EXISTS');
      return;
    }
    const replaced = OR_REPLACE.get(statement.type);
    if (replaced) {
      const [kind, name] = replaced;
      if (!node.replace) warn(`CREATE ${kind}${name(node)}`, `use CREATE OR REPLACE ${kind}`);
      return;
    }
    switch (statement.type) {
      case 'CreateStmt':
        if (!node.if_not_exists)
          warn(`CREATE TABLE ${tableName(node.relation)}`, 'use CREATE TABLE IF NOT EXISTS');
        break;
      case 'IndexStmt':
        if (!node.if_not_exists)
          warn(
            `CREATE INDEX ${node.idxname ?? `on ${tableName(node.relation)}`}`,
            node.idxname
              ? 'use CREATE INDEX IF NOT EXISTS'
              : 'name the index and use IF NOT EXISTS',
          );
        break;
      case 'CreateEnumStmt':
      case 'CompositeTypeStmt':
      case 'CreateDomainStmt':
      case 'CreateRangeStmt':
        warn(
          'CREATE TYPE/DOMAIN',
          'PostgreSQL has no IF NOT EXISTS for types: wrap it in DO $$ BEGIN … EXCEPTION WHEN duplicate_object THEN NULL; END $$',
        );
        break;
      case 'AlterEnumStmt':
        if (node.newVal && !node.oldVal && !node.skipIfNewValExists)
          warn(`ALTER TYPE … ADD VALUE '${node.newVal}'`, 'use ADD VALUE IF NOT EXISTS');
        break;
      case 'DropStmt':
        if (!node.missing_ok) {
          const kind = String(node.removeType ?? '')
            .replace(/^OBJECT_/, '')
            .replace(/_/g, ' ');
          warn(`DROP ${kind} ${objectNames(node)}`.trim(), `use DROP ${kind} IF EXISTS`);
        }
        break;
      case 'AlterTableStmt':
        for (const item of node.cmds ?? []) {
          const cmd = item.AlterTableCmd;
          if (cmd?.subtype === 'AT_AddColumn' && !cmd.missing_ok)
            warn(`ADD COLUMN ${cmd.def?.ColumnDef?.colname}`, 'use ADD COLUMN IF NOT EXISTS');
          if (cmd?.subtype === 'AT_DropColumn' && !cmd.missing_ok)
            warn(`DROP COLUMN ${cmd.name}`, 'use DROP COLUMN IF EXISTS');
        }
        break;
    }
  }

  private dataLoss(statement: ParsedStatement, index: number): void {
    const what = destruction(statement);
    if (!what) return;
    const line = statement.line;
    const commented = commentRegions(this.file, index).some((text) => warningComment.test(text));
    if (!commented) {
      this.report(
        'error',
        'guide/data-loss-warning',
        line,
        `${what} permanently deletes data but has no data-loss warning: add a "-- WARNING: …" comment above it (or in the file header) saying what is lost and to back it up first`,
        what,
        true,
      );
      return;
    }
    this.acknowledged.push({ from: line, to: this.file.lineOf(statement.end) });
    if (this.role === 'forward')
      this.report(
        'warning',
        'guide/destructive',
        line,
        `${what} permanently deletes data (warning comment present): this migration is high risk and needs executive approval for production`,
        what,
        true,
      );
  }

  private locks(statement: ParsedStatement): void {
    const node = statement.node;
    const line = statement.line;
    if (statement.type === 'IndexStmt') {
      if (node.concurrent && this.transactional)
        this.report(
          'error',
          'guide/concurrently-in-transaction',
          line,
          `CREATE INDEX CONCURRENTLY cannot run inside a transaction: put it in its own migration marked "-- pgshift:no-transaction"`,
        );
      else if (!node.concurrent && this.existing(node.relation))
        this.report(
          'warning',
          'guide/concurrent-index',
          line,
          `CREATE INDEX ${node.idxname ?? ''} on existing table ${tableName(node.relation)} blocks writes while it builds: use CREATE INDEX CONCURRENTLY${this.transactional ? ' in a migration marked "-- pgshift:no-transaction" (CONCURRENTLY cannot run in a transaction)' : ''}`.replace(
            '  ',
            ' ',
          ),
          tableName(node.relation),
          true,
        );
      return;
    }
    if (statement.type === 'DropStmt' && node.concurrent && this.transactional) {
      this.report(
        'error',
        'guide/concurrently-in-transaction',
        line,
        `DROP INDEX CONCURRENTLY cannot run inside a transaction: mark the file "-- pgshift:no-transaction" or drop CONCURRENTLY`,
      );
      return;
    }
    if (statement.type !== 'AlterTableStmt' || !this.existing(node.relation)) return;
    const table = tableName(node.relation);
    for (const item of node.cmds ?? []) {
      const cmd = item.AlterTableCmd;
      if (!cmd) continue;
      if (cmd.subtype === 'AT_AddColumn' && cmd.def?.ColumnDef)
        this.addColumn(table, cmd.def.ColumnDef, line);
      if (cmd.subtype === 'AT_AlterColumnType')
        this.report(
          'warning',
          'guide/alter-column-type',
          line,
          `ALTER COLUMN ${table}.${cmd.name} TYPE rewrites the table under an ACCESS EXCLUSIVE lock (unless the new type is binary-compatible): add a new column, backfill, then switch`,
          `${table}.${cmd.name}`,
          true,
        );
      const constraint = cmd.def?.Constraint;
      if (
        cmd.subtype === 'AT_AddConstraint' &&
        constraint?.contype === 'CONSTR_FOREIGN' &&
        !constraint.skip_validation
      )
        this.report(
          'warning',
          'guide/foreign-key-not-valid',
          line,
          `foreign key ${constraint.conname ?? ''} on existing table ${table} is validated while holding locks on both tables: add it NOT VALID, then VALIDATE CONSTRAINT in a later step`.replace(
            '  ',
            ' ',
          ),
          table,
          true,
        );
    }
  }

  private addColumn(table: string, def: AstNode, line: number): void {
    const constraints: AstNode[] = (def.constraints ?? []).map((c: AstNode) => c.Constraint);
    const notNull = constraints.some(
      (c) => c?.contype === 'CONSTR_NOTNULL' || c?.contype === 'CONSTR_PRIMARY',
    );
    const filled = constraints.some((c) =>
      ['CONSTR_DEFAULT', 'CONSTR_IDENTITY', 'CONSTR_GENERATED'].includes(c?.contype),
    );
    const typeName: string[] = (def.typeName?.names ?? []).map((n: AstNode) => n.String?.sval);
    const serial = typeName.length === 1 && /^(small|big)?serial[248]?$/.test(typeName[0]);
    if (notNull && !filled && !serial)
      this.report(
        'error',
        'guide/not-null-without-default',
        line,
        `ADD COLUMN ${table}.${def.colname} NOT NULL without a DEFAULT fails on a table that has rows: add a DEFAULT, or add it nullable, backfill, then SET NOT NULL`,
        `${table}.${def.colname}`,
        true,
      );
  }

  private transactionHandling(): void {
    if (this.role !== 'rollback' || !this.transactional) return;
    const kinds = this.file.statements
      .filter((s) => s.type === 'TransactionStmt')
      .map((s) => s.node.kind as string);
    const begins = kinds.some((k) => k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START');
    const commits = kinds.some((k) => k === 'TRANS_STMT_COMMIT');
    if (!begins || !commits)
      this.report(
        'warning',
        'guide/transaction',
        1,
        `rollback file has no ${begins ? 'COMMIT' : 'BEGIN'}: wrap its changes in BEGIN; … COMMIT; as the guide requires (pgshift runs them atomically either way), or mark it "-- pgshift:no-transaction"`,
      );
  }
}

/**
 * The migration guide's own rules on one file: idempotent statements, transaction handling
 * in rollbacks, data-loss warnings on destructive statements, and lock-heavy changes to tables
 * that exist before the file runs (NOT NULL without default, non-concurrent index builds,
 * column type changes, validated foreign keys).
 */
export function checkGuideRules(
  file: ParsedFile,
  role: FileRole,
  transactional: boolean,
): GuideCheck {
  if (file.syntaxError) return { findings: [], acknowledged: [] };
  return new GuideRules(file, role, transactional).check();
}
