import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import { parseSqlFile, type AstNode } from '../lint/sql-parse';
import type { DataLosingStatement } from './describe-loss';

export type { DataLosingStatement };

function strings(items: AstNode[] | undefined): string[] {
  return (items ?? []).map((item) => item?.String?.sval).filter((s): s is string => !!s);
}

function relation(rangeVar: AstNode): { schema?: string; table: string } {
  return {
    ...(rangeVar?.schemaname ? { schema: rangeVar.schemaname as string } : {}),
    table: rangeVar?.relname as string,
  };
}

/** Statements that never touch stored rows. */
const SAFE_STATEMENTS = new Set([
  'TransactionStmt',
  'VariableSetStmt',
  'VariableShowStmt',
  'CreateStmt',
  'IndexStmt',
  'ViewStmt',
  'CreateFunctionStmt',
  'CreateTrigStmt',
  'CreateSeqStmt',
  'AlterSeqStmt',
  'CreateSchemaStmt',
  'CompositeTypeStmt',
  'CreateEnumStmt',
  'AlterEnumStmt',
  'CreateDomainStmt',
  'DefineStmt',
  'CommentStmt',
  'GrantStmt',
  'GrantRoleStmt',
  'RenameStmt',
  'AlterOwnerStmt',
  'AlterObjectSchemaStmt',
  'CreateTableAsStmt',
  'RefreshMatViewStmt',
  'CreateExtensionStmt',
  'LockStmt',
  'NotifyStmt',
]);

/** Objects whose drop (without CASCADE) holds no rows. */
const SAFE_DROPS = new Set([
  'OBJECT_INDEX',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FUNCTION',
  'OBJECT_PROCEDURE',
  'OBJECT_ROUTINE',
  'OBJECT_TRIGGER',
  'OBJECT_TYPE',
  'OBJECT_DOMAIN',
  'OBJECT_SCHEMA',
  'OBJECT_EXTENSION',
  'OBJECT_POLICY',
  'OBJECT_RULE',
]);

/** ALTER TABLE actions that keep every stored value. */
const SAFE_ALTER_TABLE = new Set([
  'AT_AddColumn',
  'AT_ColumnDefault',
  'AT_DropNotNull',
  'AT_SetNotNull',
  'AT_AddConstraint',
  'AT_DropConstraint',
  'AT_ValidateConstraint',
  'AT_AddIndex',
  'AT_SetStatistics',
  'AT_SetStorage',
  'AT_EnableTrig',
  'AT_DisableTrig',
  'AT_EnableTrigAll',
  'AT_DisableTrigAll',
  'AT_EnableRowSecurity',
  'AT_DisableRowSecurity',
  'AT_ChangeOwner',
  'AT_SetRelOptions',
  'AT_ResetRelOptions',
  'AT_ClusterOn',
  'AT_DropCluster',
]);

/** Functions a SELECT may call in a rollback file without side effects on data. */
const SAFE_FUNCTIONS = new Set([
  'pg_sleep',
  'set_config',
  'current_setting',
  'now',
  'count',
  'pg_advisory_xact_lock',
  'pg_try_advisory_xact_lock',
]);

function functionsCalled(node: AstNode, into: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) functionsCalled(item, into);
  else if (node && typeof node === 'object')
    for (const [key, value] of Object.entries(node)) {
      if (key === 'FuncCall') into.push(strings((value as AstNode).funcname).join('.'));
      functionsCalled(value, into);
    }
  return into;
}

function objectName(object: AstNode): string[] {
  if (object?.String?.sval) return [object.String.sval];
  if (object?.List) return strings(object.List.items);
  if (object?.TypeName) return strings(object.TypeName.names);
  return [];
}

function describeStatement(type: string): string {
  return type
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

/**
 * Finds the statements of a SQL file (a rollback file) that lose data, read with the real
 * PostgreSQL parser: DROP TABLE, ALTER TABLE … DROP COLUMN, TRUNCATE, DELETE, and every
 * statement not positively known to keep data (UPDATE, ALTER COLUMN … TYPE, DROP … CASCADE,
 * DO blocks, INSERT … ON CONFLICT DO UPDATE, SELECTs calling unknown functions, statements
 * of any other kind). A file that does not parse counts as possibly losing data.
 */
export async function findDataLosingStatements(
  file: string,
  sql: string,
): Promise<DataLosingStatement[]> {
  const parsed = await parseSqlFile(file, sql);
  if (parsed.syntaxError)
    return [
      {
        kind: 'unknown',
        table: 'the whole file',
        file,
        line: parsed.syntaxError.line,
        reason: `the file does not parse (${parsed.syntaxError.message}), so what it drops is unknown`,
      },
    ];
  const found: DataLosingStatement[] = [];
  for (const statement of parsed.statements) {
    const { node, line } = statement;
    /** A statement of this line that loses the data of `target` (a table, or its column). */
    const loses = (
      kind: DataLosingStatement['kind'],
      target: { schema?: string; table: string; column?: string },
      reason?: string,
    ) => found.push({ kind, ...target, file, line, ...(reason !== undefined ? { reason } : {}) });
    const unknown = (table: string, reason: string, extra: { schema?: string } = {}) =>
      loses('unknown', { table, ...extra }, reason);
    switch (statement.type) {
      case 'DropStmt': {
        const cascade = node.behavior === 'DROP_CASCADE';
        for (const object of node.objects ?? []) {
          const parts = objectName(object);
          const name = parts.pop() ?? '?';
          const schema = parts.length ? { schema: parts.join('.') } : {};
          if (node.removeType === 'OBJECT_TABLE') loses('drop-table', { ...schema, table: name });
          else if (node.removeType === 'OBJECT_SCHEMA' && cascade)
            loses(
              'drop-schema',
              { table: name },
              `DROP SCHEMA ${name} CASCADE drops every table in the schema`,
            );
          else if (node.removeType === 'OBJECT_TYPE' && cascade)
            loses(
              'drop-type',
              { ...schema, table: name },
              `DROP TYPE ${name} CASCADE drops every column of that type`,
            );
          else if (cascade)
            loses(
              'drop-cascade',
              { ...schema, table: name },
              `DROP ${String(node.removeType).replace('OBJECT_', '')} ${name} CASCADE drops dependent objects, which may include columns`,
            );
          else if (!SAFE_DROPS.has(node.removeType))
            unknown(
              name,
              `DROP ${String(node.removeType).replace('OBJECT_', '')} is not known to keep data`,
              schema,
            );
        }
        break;
      }
      case 'AlterTableStmt': {
        const table = relation(node.relation);
        if (node.objtype !== 'OBJECT_TABLE') {
          if (!['OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_MATVIEW'].includes(node.objtype))
            unknown(
              table.table,
              `ALTER ${String(node.objtype).replace('OBJECT_', '')} is not known to keep data`,
              table,
            );
          break;
        }
        for (const item of node.cmds ?? []) {
          const cmd = item.AlterTableCmd;
          if (cmd?.subtype === 'AT_DropColumn' && cmd.name)
            loses('drop-column', { ...table, column: cmd.name });
          else if (cmd?.subtype === 'AT_AlterColumnType')
            loses(
              'alter-column-type',
              { ...table, column: cmd.name },
              `ALTER COLUMN ${cmd.name} TYPE converts every stored value, which may truncate or fail`,
            );
          else if (!SAFE_ALTER_TABLE.has(cmd?.subtype))
            unknown(
              table.table,
              `ALTER TABLE action ${String(cmd?.subtype).replace('AT_', '')} is not known to keep data`,
              table,
            );
        }
        break;
      }
      case 'TruncateStmt':
        for (const item of node.relations ?? []) loses('truncate', relation(item.RangeVar));
        break;
      case 'DeleteStmt':
        loses('delete', relation(node.relation));
        break;
      case 'UpdateStmt':
        loses('update', relation(node.relation), 'UPDATE overwrites stored values');
        break;
      case 'DoStmt': {
        const body = (node.args ?? [])
          .filter((arg: AstNode) => arg?.DefElem?.defname === 'as')
          .map((arg: AstNode) => arg?.DefElem?.arg?.String?.sval ?? '')
          .join('\n');
        const language = (node.args ?? []).find(
          (arg: AstNode) => arg?.DefElem?.defname === 'language',
        )?.DefElem?.arg?.String?.sval;
        for (const inner of await analyseDoBlock(file, body, language))
          found.push({ ...inner, file, line });
        break;
      }
      case 'InsertStmt':
        if (node.onConflictClause?.action === 'ONCONFLICT_UPDATE')
          loses(
            'update',
            relation(node.relation),
            'INSERT … ON CONFLICT DO UPDATE overwrites stored values',
          );
        break;
      case 'SelectStmt': {
        const unsafe = functionsCalled(node).filter(
          (name) => !SAFE_FUNCTIONS.has(name.replace(/^pg_catalog\./, '')),
        );
        if (node.intoClause) break; // SELECT … INTO creates a table
        if (unsafe.length > 0)
          unknown(
            'SELECT',
            `SELECT calls ${[...new Set(unsafe)].join(', ')}, which may change data`,
          );
        break;
      }
      default:
        if (!SAFE_STATEMENTS.has(statement.type))
          unknown(
            describeStatement(statement.type),
            `${describeStatement(statement.type)} is not known to keep data`,
          );
    }
  }
  return found;
}

/** PL/pgSQL statements that only control flow or report. */
const SAFE_PLPGSQL = new Set([
  'PLpgSQL_stmt_block',
  'PLpgSQL_stmt_raise',
  'PLpgSQL_stmt_assert',
  'PLpgSQL_stmt_return',
  'PLpgSQL_stmt_if',
  'PLpgSQL_stmt_assign',
  'PLpgSQL_stmt_loop',
  'PLpgSQL_stmt_while',
  'PLpgSQL_stmt_fori',
  'PLpgSQL_stmt_exit',
  'PLpgSQL_stmt_getdiag',
  'PLpgSQL_stmt_execsql',
]);

function collect(node: AstNode, visit: (key: string, value: AstNode) => void): void {
  if (Array.isArray(node)) for (const item of node) collect(item, visit);
  else if (node && typeof node === 'object')
    for (const [key, value] of Object.entries(node)) {
      visit(key, value);
      collect(value, visit);
    }
}

/**
 * A DO block is safe only when its PL/pgSQL body does nothing but report and branch on
 * expressions calling known functions, and every SQL statement it runs is itself safe.
 * EXECUTE (SQL built at run time), other languages and bodies that do not parse count.
 */
async function analyseDoBlock(
  file: string,
  body: string,
  language: string | undefined,
): Promise<Omit<DataLosingStatement, 'file' | 'line'>[]> {
  const dynamic = (reason: string) => [{ kind: 'dynamic-sql' as const, table: 'DO block', reason }];
  if (language && language.toLowerCase() !== 'plpgsql')
    return dynamic(`a DO block in ${language} runs code that cannot be checked`);
  let tree: AstNode;
  try {
    tree = parsePlPgSQLSync(
      `CREATE FUNCTION pg_temp.pgshift_do() RETURNS void LANGUAGE plpgsql AS $pgshift_do$${body}$pgshift_do$`,
    );
  } catch {
    return dynamic('a DO block whose body does not parse cannot be checked');
  }
  const kinds: string[] = [];
  const sql: string[] = [];
  const expressions: string[] = [];
  collect(tree, (key, value) => {
    if (key.startsWith('PLpgSQL_stmt_')) kinds.push(key);
    if (key === 'PLpgSQL_stmt_execsql') sql.push(value?.sqlstmt?.PLpgSQL_expr?.query ?? '');
    else if (key === 'PLpgSQL_expr' && value?.parseMode !== 0) expressions.push(value?.query ?? '');
  });
  if (kinds.some((k) => k.startsWith('PLpgSQL_stmt_dyn')))
    return dynamic('a DO block with EXECUTE runs SQL built at run time, which cannot be checked');
  const unknownKinds = kinds.filter((k) => !SAFE_PLPGSQL.has(k));
  if (unknownKinds.length > 0)
    return dynamic(
      `a DO block runs ${[...new Set(unknownKinds)].map((k) => k.replace('PLpgSQL_stmt_', '')).join(', ')}, which is not known to keep data`,
    );
  for (const expression of expressions) {
    let called: string[];
    try {
      called = functionsCalled(parseSync(`SELECT ${expression}`));
    } catch {
      return dynamic(`a DO block evaluates "${expression}", which cannot be checked`);
    }
    const unsafe = called.filter((name) => !SAFE_FUNCTIONS.has(name.replace(/^pg_catalog\./, '')));
    if (unsafe.length > 0)
      return dynamic(`a DO block calls ${[...new Set(unsafe)].join(', ')}, which may change data`);
  }
  const found: Omit<DataLosingStatement, 'file' | 'line'>[] = [];
  for (const statement of sql)
    for (const inner of await findDataLosingStatements(file, statement)) {
      const { file: _file, line: _line, ...rest } = inner;
      found.push({ ...rest, reason: `in a DO block: ${rest.reason ?? rest.kind}` });
    }
  return found;
}
