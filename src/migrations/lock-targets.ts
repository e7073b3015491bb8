import { giveEventLoopATurn, ITEMS_PER_TURN } from '../event-loop';
import { ensureParser, parseSql, type SqlStatement } from './sql-statements';

/**
 * Which relations a migration locks, and in which mode, read from its parsed statements
 * (libpg-query AST). Used to look for conflicting sessions *before* queueing for a lock.
 * Unknown statements (DO blocks, functions) lock nothing we can know of: the attempt's
 * short lock_timeout still bounds them.
 */

export type LockMode =
  | 'AccessShareLock'
  | 'RowShareLock'
  | 'RowExclusiveLock'
  | 'ShareUpdateExclusiveLock'
  | 'ShareLock'
  | 'ShareRowExclusiveLock'
  | 'ExclusiveLock'
  | 'AccessExclusiveLock';

/** Lock modes in PostgreSQL's order (LOCK TABLE's `mode` number is index + 1). */
export const LOCK_MODES: LockMode[] = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** PostgreSQL's table-level lock conflict matrix (docs: "Conflicting Lock Modes"). */
const CONFLICTS: Record<LockMode, LockMode[]> = {
  AccessShareLock: ['AccessExclusiveLock'],
  RowShareLock: ['ExclusiveLock', 'AccessExclusiveLock'],
  RowExclusiveLock: ['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'],
  ShareUpdateExclusiveLock: [
    'ShareUpdateExclusiveLock',
    'ShareLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  ShareLock: [
    'RowExclusiveLock',
    'ShareUpdateExclusiveLock',
    'ShareRowExclusiveLock',
    'ExclusiveLock',
    'AccessExclusiveLock',
  ],
  ShareRowExclusiveLock: LOCK_MODES.slice(2),
  ExclusiveLock: LOCK_MODES.slice(1),
  AccessExclusiveLock: LOCK_MODES,
};

export function conflictingModes(mode: LockMode): LockMode[] {
  return CONFLICTS[mode];
}

/** A relation (quoted, optionally schema-qualified, resolved with to_regclass) and a mode. */
export interface LockTarget {
  relation: string;
  mode: LockMode;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface RangeVar {
  schemaname?: string;
  relname?: string;
}

function relationName(rv: RangeVar | undefined): string | undefined {
  if (!rv?.relname) return undefined;
  return rv.schemaname
    ? `${quoteIdent(rv.schemaname)}.${quoteIdent(rv.relname)}`
    : quoteIdent(rv.relname);
}

/** A dotted name of a DropStmt object: a List of String nodes. */
function dottedName(object: unknown): string | undefined {
  const items = (object as { List?: { items?: unknown[] } })?.List?.items;
  if (!items) return undefined;
  const parts = items.map((i) => (i as { String?: { sval?: string } }).String?.sval);
  if (parts.some((p) => p === undefined)) return undefined;
  return parts.map((p) => quoteIdent(p!)).join('.');
}

/** Every FOREIGN KEY constraint anywhere in a node: it locks the referenced table too. */
function referencedTables(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) referencedTables(n, out);
  else if (node && typeof node === 'object') {
    const c = (node as { Constraint?: { contype?: string; pktable?: RangeVar } }).Constraint;
    if (c?.contype === 'CONSTR_FOREIGN') {
      const name = relationName(c.pktable);
      if (name) out.push(name);
    }
    for (const value of Object.values(node)) referencedTables(value, out);
  }
  return out;
}

const WEAKER_ALTER: Record<string, LockMode> = {
  AT_ValidateConstraint: 'ShareUpdateExclusiveLock',
  AT_SetStatistics: 'ShareUpdateExclusiveLock',
  AT_ClusterOn: 'ShareUpdateExclusiveLock',
  AT_DropCluster: 'ShareUpdateExclusiveLock',
  AT_AttachPartition: 'ShareUpdateExclusiveLock',
  AT_EnableTrig: 'ShareRowExclusiveLock',
  AT_DisableTrig: 'ShareRowExclusiveLock',
};

function strongest(a: LockMode, b: LockMode): LockMode {
  return LOCK_MODES.indexOf(a) >= LOCK_MODES.indexOf(b) ? a : b;
}

function alterTableMode(node: { cmds?: unknown[] }): LockMode {
  let mode: LockMode | undefined;
  for (const raw of node.cmds ?? []) {
    const cmd = (raw as { AlterTableCmd?: { subtype?: string; def?: unknown } }).AlterTableCmd;
    let m: LockMode = WEAKER_ALTER[cmd?.subtype ?? ''] ?? 'AccessExclusiveLock';
    const constraint = (cmd?.def as { Constraint?: { contype?: string } })?.Constraint;
    if (cmd?.subtype === 'AT_AddConstraint' && constraint?.contype === 'CONSTR_FOREIGN')
      m = 'ShareRowExclusiveLock';
    mode = mode ? strongest(mode, m) : m;
  }
  return mode ?? 'AccessExclusiveLock';
}

const DROPPED_RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_INDEX',
]);

/** Statements that lock the one relation they name, always in the same mode. */
const RELATION_MODES = new Map<string, LockMode>([
  ['RenameStmt', 'AccessExclusiveLock'],
  ['RuleStmt', 'AccessExclusiveLock'],
  ['ClusterStmt', 'AccessExclusiveLock'],
  ['CreateTrigStmt', 'ShareRowExclusiveLock'],
  ['InsertStmt', 'RowExclusiveLock'],
  ['UpdateStmt', 'RowExclusiveLock'],
  ['DeleteStmt', 'RowExclusiveLock'],
]);

/** The relations one statement locks (an index stands for its table too, see lock-wait). */
export function statementLockTargets(statement: SqlStatement): LockTarget[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const node = statement.node as any;
  const out: LockTarget[] = [];
  const add = (relation: string | undefined, mode: LockMode) => {
    if (relation) out.push({ relation, mode });
  };
  const fixed = RELATION_MODES.get(statement.nodeType);
  if (fixed) add(relationName(node.relation), fixed);
  switch (statement.nodeType) {
    case 'AlterTableStmt': {
      const mode = alterTableMode(node);
      add(relationName(node.relation), mode);
      for (const t of referencedTables(node.cmds)) add(t, 'ShareRowExclusiveLock');
      break;
    }
    case 'CreateStmt':
      for (const t of referencedTables(node.tableElts)) add(t, 'ShareRowExclusiveLock');
      break;
    case 'IndexStmt':
      add(relationName(node.relation), node.concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock');
      break;
    case 'DropStmt':
      if (DROPPED_RELATIONS.has(node.removeType))
        for (const object of node.objects ?? [])
          add(
            dottedName(object),
            node.concurrent ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock',
          );
      break;
    case 'TruncateStmt':
      for (const r of node.relations ?? []) add(relationName(r.RangeVar), 'AccessExclusiveLock');
      break;
    case 'LockStmt':
      for (const r of node.relations ?? [])
        add(relationName(r.RangeVar), LOCK_MODES[(node.mode ?? 8) - 1] ?? 'AccessExclusiveLock');
      break;
    case 'ReindexStmt':
      add(
        relationName(node.relation),
        JSON.stringify(node.params ?? []).includes('"concurrently"')
          ? 'ShareUpdateExclusiveLock'
          : 'AccessExclusiveLock',
      );
      break;
  }
  return out;
}

/** The union of several statements' targets, keeping the strongest mode per relation. */
export function lockTargets(statements: SqlStatement[]): LockTarget[] {
  const byRelation = new Map<string, LockMode>();
  for (const statement of statements)
    for (const t of statementLockTargets(statement)) {
      const seen = byRelation.get(t.relation);
      byRelation.set(t.relation, seen ? strongest(seen, t.mode) : t.mode);
    }
  return [...byRelation].map(([relation, mode]) => ({ relation, mode }));
}

/** Tables the forward files of a plan lock (quoted names, first `limit`), for latency probes. */
export async function touchedTables(
  plan: { migrations: { forward: { sql: string } }[] },
  limit = 20,
): Promise<string[]> {
  await ensureParser();
  const names = new Set<string>();
  for (const [index, m] of plan.migrations.entries()) {
    if (names.size >= limit) break;
    if (index > 0 && index % ITEMS_PER_TURN === 0) await giveEventLoopATurn();
    for (const t of lockTargets(parseSql(m.forward.sql).statements))
      if (names.size < limit) names.add(t.relation);
  }
  return [...names];
}
