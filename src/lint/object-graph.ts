import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import builtins from './pg-builtins.json';
import type { AstNode, ParsedFile, ParsedStatement } from './sql-parse';

/**
 * What a statement does to database objects, read from its AST: the objects it creates,
 * drops, renames and uses. Objects live in PostgreSQL's namespaces: tables, views,
 * indexes and sequences share one (`relation`), columns belong to a relation, triggers to a
 * table; functions, types, schemas and extensions have their own.
 */
export type ObjectKind =
  | 'table'
  | 'view'
  | 'materialized view'
  | 'index'
  | 'sequence'
  | 'column'
  | 'function'
  | 'type'
  | 'schema'
  | 'trigger'
  | 'extension';

export interface ObjectAction {
  action: 'create' | 'drop' | 'use' | 'rename';
  kind: ObjectKind;
  /** Namespace key, e.g. "relation:public.customers", "column:public.customers.region". */
  key: string;
  /** Display name, e.g. "customers", "app.touch", "customers.region". */
  name: string;
  line: number;
  /** IF [NOT] EXISTS / OR REPLACE: the statement tolerates the object's (ab)sence. */
  tolerant: boolean;
  /** Key of the relation that owns this object (columns, indexes, triggers, serial sequences). */
  parent?: string;
  schema: string;
  /** For a created table: whether all its columns are known from this statement. */
  columnsKnown?: boolean;
  /** A built-in (pg_catalog) function, type or relation: never created by a migration. */
  builtin?: boolean;
  cascade?: boolean;
  /** For `rename`: the new key and display name. */
  newKey?: string;
  newName?: string;
}

const builtinFunctions = new Set(builtins.functions);
const serialTypes = new Set([
  'serial',
  'serial4',
  'bigserial',
  'serial8',
  'smallserial',
  'serial2',
]);
const builtinTypes = new Set([...builtins.types, ...serialTypes]);
const systemSchemas = new Set([
  'public',
  'pg_catalog',
  'information_schema',
  'pg_temp',
  'pg_toast',
]);

const relationKinds: Record<string, ObjectKind> = {
  OBJECT_TABLE: 'table',
  OBJECT_FOREIGN_TABLE: 'table',
  OBJECT_VIEW: 'view',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_INDEX: 'index',
  OBJECT_SEQUENCE: 'sequence',
};
const functionKinds = new Set([
  'OBJECT_FUNCTION',
  'OBJECT_PROCEDURE',
  'OBJECT_ROUTINE',
  'OBJECT_AGGREGATE',
]);

interface QualifiedName {
  schema: string;
  name: string;
  qualified: boolean;
}

function strings(list: AstNode[] | undefined): string[] {
  return (list ?? []).map((item: AstNode) => item?.String?.sval).filter((s) => s !== undefined);
}

function qualify(parts: string[]): QualifiedName {
  const name = parts[parts.length - 1];
  const schema = parts.length > 1 ? parts[parts.length - 2] : 'public';
  return { schema, name, qualified: parts.length > 1 };
}

function display(q: { schema: string; name: string }): string {
  return q.schema === 'public' ? q.name : `${q.schema}.${q.name}`;
}

function relationKey(q: { schema: string; name: string }): string {
  return `relation:${q.schema}.${q.name}`;
}

function isRangeVar(o: AstNode): boolean {
  return o && typeof o === 'object' && typeof o.relname === 'string' && 'relpersistence' in o;
}

function isTypeName(o: AstNode): boolean {
  return o && typeof o === 'object' && Array.isArray(o.names) && 'typemod' in o;
}

function rangeVarName(rv: AstNode): QualifiedName {
  return { schema: rv.schemaname ?? 'public', name: rv.relname, qualified: !!rv.schemaname };
}

/** Collects the actions of one statement. */
class StatementReader {
  readonly actions: ObjectAction[] = [];
  private readonly skip = new Set<AstNode>();
  private readonly ctes = new Set<string>();

  constructor(
    private readonly file: ParsedFile,
    private readonly statement: ParsedStatement,
  ) {}

  lineAt(location: number | undefined): number {
    return typeof location === 'number' && location >= 0
      ? this.file.lineOf(location)
      : this.statement.line;
  }

  /** A use of a schema other than the system ones. */
  schemaUse(schema: string, line: number): void {
    if (!systemSchemas.has(schema)) this.unqualified('use', 'schema', schema, line, false);
  }

  /** A schema or an extension: an object named by one word, not by a schema-qualified name. */
  unqualified(
    action: ObjectAction['action'],
    kind: 'schema' | 'extension',
    name: string,
    line: number,
    tolerant: boolean,
    schema = name,
  ): void {
    this.add({ action, kind, key: `${kind}:${name}`, name, line, tolerant, schema });
  }

  add(action: ObjectAction): void {
    this.actions.push(action);
  }

  relation(
    action: ObjectAction['action'],
    kind: ObjectKind,
    q: QualifiedName,
    line: number,
    extra: Partial<ObjectAction> = {},
  ): void {
    if (q.qualified) this.schemaUse(q.schema, line);
    const builtin =
      action === 'use' &&
      (q.schema === 'pg_catalog' || q.schema === 'information_schema' || q.name.startsWith('pg_'));
    this.add({
      action,
      kind,
      key: relationKey(q),
      name: display(q),
      line,
      tolerant: false,
      schema: q.schema,
      ...(builtin ? { builtin } : {}),
      ...extra,
    });
  }

  column(
    action: ObjectAction['action'],
    table: QualifiedName,
    column: string,
    line: number,
    extra: Partial<ObjectAction> = {},
  ): void {
    this.add({
      action,
      kind: 'column',
      key: `column:${table.schema}.${table.name}.${column}`,
      name: `${display(table)}.${column}`,
      line,
      tolerant: false,
      parent: relationKey(table),
      schema: table.schema,
      ...extra,
    });
  }

  function(action: ObjectAction['action'], parts: string[], line: number, tolerant = false): void {
    this.routineOrType('function', builtinFunctions, action, parts, line, tolerant);
  }

  type(action: ObjectAction['action'], parts: string[], line: number, tolerant = false): void {
    this.routineOrType('type', builtinTypes, action, parts, line, tolerant);
  }

  /** Functions and types: schema-qualified names, built-ins of pg_catalog used unqualified. */
  private routineOrType(
    kind: 'function' | 'type',
    builtins: Set<string>,
    action: ObjectAction['action'],
    parts: string[],
    line: number,
    tolerant: boolean,
  ): void {
    const q = qualify(parts);
    if (q.qualified) this.schemaUse(q.schema, line);
    const builtin =
      q.schema === 'pg_catalog' || (!q.qualified && builtins.has(q.name.toLowerCase()));
    this.add({
      action,
      kind,
      key: `${kind}:${q.schema}.${q.name}`,
      name: display(q),
      line,
      tolerant,
      schema: q.schema,
      ...(builtin && action === 'use' ? { builtin } : {}),
    });
  }

  /** Marks a node as handled, so the generic walk does not read it as a use. */
  handled(node: AstNode): void {
    if (node) this.skip.add(node);
  }

  /** A relation the statement creates, named by its RangeVar (which the walk then skips). */
  createRelation(
    kind: ObjectKind,
    rangeVar: AstNode,
    line: number,
    extra: Partial<ObjectAction> = {},
  ): void {
    this.handled(rangeVar);
    this.relation('create', kind, rangeVarName(rangeVar), line, extra);
  }

  private collectCtes(node: AstNode): void {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) this.collectCtes(item);
      return;
    }
    if (node.CommonTableExpr?.ctename) this.ctes.add(node.CommonTableExpr.ctename);
    for (const value of Object.values(node)) this.collectCtes(value);
  }

  /** Records every relation, function and type the subtree uses. */
  walk(node: AstNode): void {
    if (this.ctes.size === 0) this.collectCtes(node);
    this.visit(node);
  }

  private visit(node: AstNode): void {
    if (!node || typeof node !== 'object' || this.skip.has(node)) return;
    if (Array.isArray(node)) {
      for (const item of node) this.visit(item);
      return;
    }
    if (isRangeVar(node)) {
      if (!(node.schemaname === undefined && this.ctes.has(node.relname)))
        this.relation('use', 'table', rangeVarName(node), this.lineAt(node.location));
    } else if (isTypeName(node)) {
      if (!node.pct_type) this.type('use', strings(node.names), this.lineAt(node.location));
    } else if (node.FuncCall) {
      const call = node.FuncCall;
      const parts = strings(call.funcname);
      const line = this.lineAt(call.location);
      this.function('use', parts, line);
      const sequenceArg = call.args?.[0]?.A_Const?.sval?.sval;
      if (
        ['nextval', 'currval', 'setval'].includes(parts[parts.length - 1]) &&
        typeof sequenceArg === 'string'
      )
        this.relation('use', 'sequence', qualify(sequenceArg.split('.')), line);
    }
    for (const value of Object.values(node)) this.visit(value);
  }
}

function columnConstraints(def: AstNode): AstNode[] {
  return (def.constraints ?? []).map((c: AstNode) => c.Constraint).filter(Boolean);
}

/** A column definition creates the column and, for serial types, its sequence. */
function createColumn(
  reader: StatementReader,
  table: QualifiedName,
  def: AstNode,
  tolerant: boolean,
): void {
  const line = reader.lineAt(def.location);
  reader.column('create', table, def.colname, line, { tolerant });
  const typeName = strings(def.typeName?.names);
  if (typeName.length === 1 && serialTypes.has(typeName[0])) {
    reader.handled(def.typeName);
    reader.relation(
      'create',
      'sequence',
      { schema: table.schema, name: `${table.name}_${def.colname}_seq`, qualified: false },
      line,
      { tolerant: true, parent: relationKey(table) },
    );
  }
  for (const constraint of columnConstraints(def)) foreignKeyColumns(reader, constraint);
}

function foreignKeyColumns(
  reader: StatementReader,
  constraint: AstNode,
  table?: QualifiedName,
): void {
  if (constraint.contype !== 'CONSTR_FOREIGN' || !constraint.pktable) return;
  const line = reader.lineAt(constraint.location);
  const target = rangeVarName(constraint.pktable);
  for (const column of strings(constraint.pk_attrs)) reader.column('use', target, column, line);
  if (table)
    for (const column of strings(constraint.fk_attrs)) reader.column('use', table, column, line);
}

function readCreateTable(reader: StatementReader, node: AstNode): void {
  const table = rangeVarName(node.relation);
  reader.handled(node.relation);
  const elements: AstNode[] = node.tableElts ?? [];
  const columnsKnown =
    !node.inhRelations?.length &&
    !node.partbound &&
    elements.every((e) => e.ColumnDef || e.Constraint);
  reader.relation('create', 'table', table, reader.lineAt(node.relation.location), {
    tolerant: !!node.if_not_exists,
    columnsKnown,
  });
  for (const element of elements) {
    if (element.ColumnDef) createColumn(reader, table, element.ColumnDef, !!node.if_not_exists);
  }
  for (const element of elements) {
    if (element.Constraint) foreignKeyColumns(reader, element.Constraint, table);
  }
  reader.walk(node);
}

function readAlterTable(reader: StatementReader, node: AstNode): void {
  const target = rangeVarName(node.relation);
  reader.handled(node.relation);
  const kind = relationKinds[node.objtype] ?? 'table';
  const line = reader.lineAt(node.relation.location);
  reader.relation('use', kind, target, line, { tolerant: !!node.missing_ok });
  for (const item of node.cmds ?? []) {
    const cmd = item.AlterTableCmd;
    if (!cmd) continue;
    const cmdLine = reader.lineAt(cmd.def?.ColumnDef?.location ?? cmd.def?.Constraint?.location);
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        if (cmd.def?.ColumnDef) createColumn(reader, target, cmd.def.ColumnDef, !!cmd.missing_ok);
        break;
      case 'AT_DropColumn':
        reader.column('drop', target, cmd.name, cmdLine, {
          tolerant: !!cmd.missing_ok,
          cascade: cmd.behavior === 'DROP_CASCADE',
        });
        break;
      case 'AT_AddConstraint':
        if (cmd.def?.Constraint) foreignKeyColumns(reader, cmd.def.Constraint, target);
        break;
      default:
        if (cmd.name && kind === 'table' && cmd.subtype !== 'AT_DropConstraint')
          reader.column('use', target, cmd.name, cmdLine);
    }
  }
  reader.walk(node);
}

function readIndex(reader: StatementReader, node: AstNode): void {
  const table = rangeVarName(node.relation);
  const line = reader.lineAt(node.relation.location);
  if (node.idxname)
    reader.relation('create', 'index', { ...table, name: node.idxname }, line, {
      tolerant: !!node.if_not_exists,
      parent: relationKey(table),
    });
  for (const param of node.indexParams ?? []) {
    const name = param.IndexElem?.name;
    if (name) reader.column('use', table, name, line);
  }
  reader.walk(node);
}

function readDrop(reader: StatementReader, statement: ParsedStatement): void {
  const node = statement.node;
  const line = statement.line;
  const common = { tolerant: !!node.missing_ok, cascade: node.behavior === 'DROP_CASCADE' };
  const relationKind = relationKinds[node.removeType];
  for (const object of node.objects ?? []) {
    if (relationKind) {
      reader.relation('drop', relationKind, qualify(strings(object.List?.items)), line, common);
    } else if (node.removeType === 'OBJECT_TYPE' || node.removeType === 'OBJECT_DOMAIN') {
      reader.type('drop', strings(object.TypeName?.names), line, common.tolerant);
      reader.actions[reader.actions.length - 1].cascade = common.cascade;
    } else if (functionKinds.has(node.removeType)) {
      reader.function('drop', strings(object.ObjectWithArgs?.objname), line, common.tolerant);
      reader.actions[reader.actions.length - 1].cascade = common.cascade;
    } else if (node.removeType === 'OBJECT_TRIGGER') {
      const parts = strings(object.List?.items);
      const trigger = parts.pop() as string;
      const table = qualify(parts);
      reader.relation('use', 'table', table, line, { tolerant: common.tolerant });
      reader.add({
        action: 'drop',
        kind: 'trigger',
        key: `trigger:${table.schema}.${table.name}.${trigger}`,
        name: `${trigger} on ${display(table)}`,
        line,
        parent: relationKey(table),
        schema: table.schema,
        ...common,
      });
    } else if (node.removeType === 'OBJECT_SCHEMA' || node.removeType === 'OBJECT_EXTENSION') {
      const name = object.String?.sval;
      const kind = node.removeType === 'OBJECT_SCHEMA' ? 'schema' : 'extension';
      if (name)
        reader.add({
          action: 'drop',
          kind,
          key: `${kind}:${name}`,
          name,
          line,
          schema: kind === 'schema' ? name : 'public',
          ...common,
        });
    }
  }
}

function readRename(reader: StatementReader, statement: ParsedStatement): void {
  const node = statement.node;
  const line = statement.line;
  const relationKind = relationKinds[node.renameType];
  if (relationKind && node.relation) {
    const q = rangeVarName(node.relation);
    reader.handled(node.relation);
    reader.relation('rename', relationKind, q, line, {
      tolerant: !!node.missing_ok,
      newKey: relationKey({ schema: q.schema, name: node.newname }),
      newName: display({ schema: q.schema, name: node.newname }),
    });
  } else if (node.renameType === 'OBJECT_COLUMN' && node.relation) {
    const q = rangeVarName(node.relation);
    reader.column('rename', q, node.subname, line, {
      newKey: `column:${q.schema}.${q.name}.${node.newname}`,
      newName: `${display(q)}.${node.newname}`,
    });
  }
  reader.walk(node);
}

function readComment(reader: StatementReader, statement: ParsedStatement): void {
  const node = statement.node;
  const line = statement.line;
  const parts = strings(node.object?.List?.items);
  const relationKind = relationKinds[node.objtype];
  if (relationKind) reader.relation('use', relationKind, qualify(parts), line);
  else if (node.objtype === 'OBJECT_COLUMN' && parts.length >= 2) {
    const column = parts.pop() as string;
    const table = qualify(parts);
    reader.relation('use', 'table', table, line);
    reader.column('use', table, column, line);
  } else if (functionKinds.has(node.objtype) && node.object?.ObjectWithArgs) {
    reader.function('use', strings(node.object.ObjectWithArgs.objname), line);
  } else if (node.objtype === 'OBJECT_SCHEMA' && node.object?.String?.sval) {
    reader.unqualified('use', 'schema', node.object.String.sval, line, false);
  } else if (node.object) reader.walk(node.object);
}

/**
 * CREATE TABLE AS, CREATE [MATERIALIZED] VIEW, CREATE SEQUENCE: the one relation the statement
 * creates (named by its RangeVar), then what the rest of it uses.
 */
function readCreatedRelation(reader: StatementReader, statement: ParsedStatement): void {
  const node = statement.node;
  if (statement.type === 'CreateSeqStmt')
    reader.createRelation('sequence', node.sequence, statement.line, {
      tolerant: !!node.if_not_exists,
    });
  else {
    const view = statement.type === 'ViewStmt';
    const rel = view ? node.view : node.into?.rel;
    const kind = view ? 'view' : node.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table';
    if (rel)
      reader.createRelation(kind, rel, reader.lineAt(rel.location), {
        tolerant: !!(view ? node.replace : node.if_not_exists),
        columnsKnown: false,
      });
  }
  reader.walk(node);
}

/** The statements read by a function of their own. */
const STATEMENT_READERS = new Map<
  string,
  (reader: StatementReader, statement: ParsedStatement) => void
>([
  ['CreateStmt', (reader, { node }) => readCreateTable(reader, node)],
  ['CreateTableAsStmt', readCreatedRelation],
  ['ViewStmt', readCreatedRelation],
  ['CreateSeqStmt', readCreatedRelation],
  ['IndexStmt', (reader, { node }) => readIndex(reader, node)],
  ['AlterTableStmt', (reader, { node }) => readAlterTable(reader, node)],
  ['DropStmt', readDrop],
  ['RenameStmt', readRename],
  ['CommentStmt', readComment],
]);

/** The objects one statement creates, drops, renames and uses, in order. */
export function describeStatement(file: ParsedFile, statement: ParsedStatement): ObjectAction[] {
  const reader = new StatementReader(file, statement);
  const node = statement.node;
  const line = statement.line;
  const read = STATEMENT_READERS.get(statement.type);
  if (read) {
    read(reader, statement);
    return reader.actions;
  }
  switch (statement.type) {
    case 'CreateFunctionStmt':
      reader.function('create', strings(node.funcname), line, !!node.replace);
      reader.walk(node);
      break;
    case 'CreateTrigStmt': {
      const table = rangeVarName(node.relation);
      reader.add({
        action: 'create',
        kind: 'trigger',
        key: `trigger:${table.schema}.${table.name}.${node.trigname}`,
        name: `${node.trigname} on ${display(table)}`,
        line,
        tolerant: !!node.replace,
        parent: relationKey(table),
        schema: table.schema,
      });
      reader.function('use', strings(node.funcname), line);
      reader.walk(node);
      break;
    }
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      reader.type('create', strings(node.typeName), line);
      reader.walk(node.params);
      break;
    case 'CreateDomainStmt':
      reader.type('create', strings(node.domainname), line);
      reader.walk(node);
      break;
    case 'CompositeTypeStmt': {
      const q = rangeVarName(node.typevar);
      reader.handled(node.typevar);
      reader.type('create', q.qualified ? [q.schema, q.name] : [q.name], line);
      reader.walk(node);
      break;
    }
    case 'AlterEnumStmt':
      reader.type('use', strings(node.typeName), line);
      break;
    case 'CreateSchemaStmt':
      reader.unqualified('create', 'schema', node.schemaname, line, !!node.if_not_exists);
      reader.walk(node.schemaElts);
      break;
    case 'CreateExtensionStmt': {
      reader.unqualified('create', 'extension', node.extname, line, !!node.if_not_exists, 'public');
      const schemaOption = (node.options ?? []).find(
        (o: AstNode) => o.DefElem?.defname === 'schema',
      );
      const schema = schemaOption?.DefElem?.arg?.String?.sval;
      if (schema) reader.schemaUse(schema, line);
      break;
    }
    case 'DoStmt':
      return describeDoBlock(file, statement);
    case 'TransactionStmt':
    case 'VariableSetStmt':
      break;
    default:
      reader.walk(node);
  }
  return reader.actions;
}

function embeddedQueries(node: AstNode, out: { query: string; lineno: number }[]): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) embeddedQueries(item, out);
    return;
  }
  const exec = node.PLpgSQL_stmt_execsql;
  if (exec?.sqlstmt?.PLpgSQL_expr?.query)
    out.push({ query: exec.sqlstmt.PLpgSQL_expr.query, lineno: exec.lineno ?? 1 });
  for (const value of Object.values(node)) embeddedQueries(value, out);
}

/**
 * The SQL statements a PL/pgSQL DO block runs (e.g. CREATE TYPE guarded by an exception
 * handler). They are usually guarded, so their actions are tolerant of (ab)sence.
 */
function describeDoBlock(file: ParsedFile, statement: ParsedStatement): ObjectAction[] {
  const options: AstNode[] = statement.node.args ?? [];
  const option = (name: string) =>
    options.find((o) => o.DefElem?.defname === name)?.DefElem?.arg?.String?.sval;
  const body = option('as');
  const language = option('language') ?? 'plpgsql';
  if (typeof body !== 'string' || language !== 'plpgsql') return [];
  const tag = '$pgshift_do$';
  if (body.includes(tag)) return [];
  const queries: { query: string; lineno: number }[] = [];
  try {
    embeddedQueries(
      parsePlPgSQLSync(
        `CREATE FUNCTION pg_temp.pgshift_do() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}`,
      ),
      queries,
    );
  } catch {
    return [];
  }
  const actions: ObjectAction[] = [];
  for (const { query, lineno } of queries) {
    let parsed: AstNode;
    try {
      parsed = parseSync(query);
    } catch {
      continue;
    }
    const line = statement.line + lineno - 1;
    const inner: ParsedFile = { ...file, lineOf: () => line };
    for (const raw of parsed.stmts ?? []) {
      const [type] = Object.keys(raw.stmt);
      const innerStatement = { type, node: raw.stmt[type], start: 0, end: query.length, line };
      for (const action of describeStatement(inner, innerStatement))
        actions.push({ ...action, tolerant: true });
    }
  }
  return actions;
}

/** Every statement's actions for a parsed file, in statement order. */
export function describeFile(file: ParsedFile): ObjectAction[] {
  return file.statements.flatMap((statement) => describeStatement(file, statement));
}
