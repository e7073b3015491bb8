/**
 * How an incident names the data a rollback destroys. Pure, no imports: the emergency
 * rollback workflow calls it inside the Temporal sandbox.
 */
export interface LossDescription {
  kind: 'drop-table' | 'drop-column' | 'truncate' | 'delete';
  schema?: string;
  table: string;
  column?: string;
  file: string;
  line: number;
  exists: boolean;
  rows: number | null;
  estimated?: boolean;
}

const WHAT: Record<LossDescription['kind'], string> = {
  'drop-table': 'table dropped',
  'drop-column': 'column dropped',
  truncate: 'table truncated',
  delete: 'rows deleted',
};

/** `customers.segment (column dropped by 009_rollback.sql:8; 120 non-null values)`. */
export function describeLoss(item: LossDescription): string {
  const where = `${item.schema ? `${item.schema}.` : ''}${item.table}${item.column ? `.${item.column}` : ''}`;
  const amount = !item.exists
    ? 'absent, nothing lost'
    : item.rows === null
      ? 'row count unknown'
      : `${item.estimated ? '~' : ''}${item.rows} ${item.column ? 'non-null value' : 'row'}${item.rows === 1 ? '' : 's'}`;
  return `${where} (${WHAT[item.kind]} by ${item.file}:${item.line}; ${amount})`;
}

/** True when the item destroys data that exists now (or whose amount is unknown). */
export function losesData(item: LossDescription): boolean {
  return item.exists && (item.rows === null || item.rows > 0);
}
