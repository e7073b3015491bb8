import { parseSqlFile, type AstNode } from '../lint/sql-parse';

/** A statement of a rollback file that destroys stored data. */
export interface DataLosingStatement {
  /** `drop-table`: every row; `drop-column`: the column's values; `truncate`/`delete`: rows. */
  kind: 'drop-table' | 'drop-column' | 'truncate' | 'delete';
  schema?: string;
  table: string;
  column?: string;
  file: string;
  line: number;
}

function strings(items: AstNode[] | undefined): string[] {
  return (items ?? []).map((item) => item?.String?.sval).filter((s): s is string => !!s);
}

function relation(rangeVar: AstNode): { schema?: string; table: string } {
  return {
    ...(rangeVar?.schemaname ? { schema: rangeVar.schemaname as string } : {}),
    table: rangeVar?.relname as string,
  };
}

/**
 * Finds the statements of a SQL file (a rollback file) that lose data: DROP TABLE,
 * ALTER TABLE … DROP COLUMN, TRUNCATE and DELETE, read with the real PostgreSQL parser.
 * A file that does not parse yields nothing here (validation reports it).
 */
export async function findDataLosingStatements(
  file: string,
  sql: string,
): Promise<DataLosingStatement[]> {
  const parsed = await parseSqlFile(file, sql);
  const found: DataLosingStatement[] = [];
  for (const statement of parsed.statements) {
    const { node, line } = statement;
    switch (statement.type) {
      case 'DropStmt':
        if (node.removeType !== 'OBJECT_TABLE') break;
        for (const object of node.objects ?? []) {
          const parts = strings(object.List?.items);
          const table = parts.pop();
          if (table)
            found.push({
              kind: 'drop-table',
              ...(parts.length ? { schema: parts.join('.') } : {}),
              table,
              file,
              line,
            });
        }
        break;
      case 'AlterTableStmt':
        if (node.objtype !== 'OBJECT_TABLE') break;
        for (const item of node.cmds ?? []) {
          const cmd = item.AlterTableCmd;
          if (cmd?.subtype === 'AT_DropColumn' && cmd.name)
            found.push({
              kind: 'drop-column',
              ...relation(node.relation),
              column: cmd.name,
              file,
              line,
            });
        }
        break;
      case 'TruncateStmt':
        for (const item of node.relations ?? [])
          found.push({ kind: 'truncate', ...relation(item.RangeVar), file, line });
        break;
      case 'DeleteStmt':
        found.push({ kind: 'delete', ...relation(node.relation), file, line });
        break;
    }
  }
  return found;
}
