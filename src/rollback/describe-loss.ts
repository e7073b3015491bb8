/**
 * How an incident names the data a rollback destroys. Pure, no imports: the emergency
 * rollback workflow calls it inside the Temporal sandbox.
 */
/** Kinds whose loss can be counted: rows of a table, or non-null values of a column. */
export const COUNTED_LOSS_KINDS = [
  'drop-table',
  'drop-column',
  'truncate',
  'delete',
  'update',
  'alter-column-type',
] as const;

export const LOSS_KINDS = [
  ...COUNTED_LOSS_KINDS,
  'drop-schema',
  'drop-type',
  'drop-cascade',
  'dynamic-sql',
  'unknown',
] as const;
export type LossKind = (typeof LOSS_KINDS)[number];

/**
 * A statement of a rollback file that destroys stored data, or that the analysis cannot
 * prove keeps it (the analysis fails closed: whatever is not known to be safe counts).
 */
export interface DataLosingStatement {
  /**
   * `drop-table`: every row; `drop-column`: the column's values; `truncate`/`delete`: rows;
   * `update`: rows overwritten; `alter-column-type`: values converted; `drop-schema` /
   * `drop-type`/`drop-cascade`: whatever CASCADE drops with it; `dynamic-sql`: a DO block;
   * `unknown`: a statement the analysis does not know to be safe.
   */
  kind: LossKind;
  schema?: string;
  /** The table; for statements without one, the object named (schema, type) or the statement kind. */
  table: string;
  column?: string;
  file: string;
  line: number;
  /** Why a statement that is not a plain drop counts as possibly losing data. */
  reason?: string;
}

/** A data-losing statement with what the database holds of its table now. */
export interface LossDescription extends DataLosingStatement {
  exists: boolean;
  rows: number | null;
  estimated?: boolean;
}

const WHAT: Record<LossKind, string> = {
  'drop-table': 'table dropped',
  'drop-column': 'column dropped',
  truncate: 'table truncated',
  delete: 'rows deleted',
  update: 'rows overwritten',
  'alter-column-type': 'column converted',
  'drop-schema': 'schema dropped with its tables',
  'drop-type': 'type dropped with its columns',
  'drop-cascade': 'dropped with dependent objects',
  'dynamic-sql': 'procedural code',
  unknown: 'statement not known to keep data',
};

/** `customers.segment (column dropped by 009_rollback.sql:8; 120 non-null values)`. */
export function describeLoss(item: LossDescription): string {
  const where = `${item.schema ? `${item.schema}.` : ''}${item.table}${item.column ? `.${item.column}` : ''}`;
  const amount = !item.exists
    ? 'absent, nothing lost'
    : item.rows === null
      ? 'row count unknown'
      : `${item.estimated ? '~' : ''}${item.rows} ${item.column ? 'non-null value' : 'row'}${item.rows === 1 ? '' : 's'}`;
  const why = item.reason ? `: ${item.reason}` : '';
  return `${where} (${WHAT[item.kind] ?? item.kind} by ${item.file}:${item.line}; ${amount}${why})`;
}

/** True when the item destroys data that exists now (or whose amount is unknown). */
export function losesData(item: LossDescription): boolean {
  return item.exists && (item.rows === null || item.rows > 0);
}
