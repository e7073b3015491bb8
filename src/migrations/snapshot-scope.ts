import type { Client } from 'pg';
import { EXCLUDED_SCHEMAS, withCatalogSettings, type SnapshotScope } from './snapshot';

/**
 * What a migration can have changed, resolved in one database, and a cheap guard over
 * everything else.
 *
 * The scope starts from the objects whose names the migration's statements mention
 * (relations, types, routines, schemas; named-objects.ts) and follows pg_depend's auto and
 * internal dependencies both ways: the parts of an object in scope (the indexes,
 * constraints, triggers, defaults, owned sequences, toast table and row type of a table)
 * and the owner of a part in scope (the table of a named index) join it. A snapshot of the
 * scope therefore shows every catalog row the guard attributes to it.
 *
 * Objects that merely depend on the scope (a view over a table in it, a foreign key of
 * another table) stay outside, counted in `dependents`: their own rows are guarded, and what
 * they print of the scope (names) is in the scope's snapshot. As long as that snapshot is
 * unchanged, so are they; when it changed, a caller that wants every difference compares
 * whole schemas.
 *
 * The guard counts, per catalog, the rows that belong to no object in scope ("outside"),
 * and among them those written since a watermark transaction id ("fresh"). When a later
 * guard of the same database, resolved with the earlier scope carried into it, has the
 * same outside counts and no fresh outside row, every catalog row outside the scope is the
 * same row version as before: nothing outside the scope changed.
 */

export interface CatalogGuard {
  /** Per catalog: rows outside the scope, and those of them written since the watermark. */
  [catalog: string]: { outside: number; fresh: number };
}

export interface ResolvedScope {
  /** Oids (as text) to pass to snapshotSchema({ scope }) and to carry into a later scope. */
  snapshot: SnapshotScope;
  /**
   * Objects outside the scope that depend on one in it (a view over a table in scope, a
   * foreign key of another table referencing it): their rows are guarded, not snapshotted.
   * Counted only when asked for (`dependents: true`), null otherwise: a table can have
   * thousands of them, and only a check that found differences needs the count.
   */
  dependents: number | null;
  guard: CatalogGuard;
  /** The next transaction id when the scope was resolved (32-bit, as text). */
  watermark: string;
}

/**
 * How the rows of each guarded catalog are attributed to an object in scope: `owner` is the
 * catalog of the owning object and `key` its oid in the row (or the row's `(classid, objid)`
 * pair); `made` is the oid that tells rows of objects created after initdb (>= 16384).
 * Objects created by initdb are not guarded: whole-schema snapshots leave them out too.
 */
interface GuardedCatalog {
  catalog: string;
  owner: string;
  key: string;
  made: string;
  /** Its rows are only ever deleted with a row of another guarded catalog (a column with its
   * table, an index's entry with its relation): new and updated rows are all it can show. */
  deletedWithOwner?: boolean;
}

/** A catalog of objects: each row is an object of its own, keyed by its oid. */
const objects = (catalog: string): GuardedCatalog => ({
  catalog,
  owner: catalog,
  key: 'x.oid',
  made: 'x.oid',
});

/** A catalog of parts: each row belongs to the object of `owner` whose oid is in `column`. */
const partsOf = (
  owner: string,
  catalog: string,
  column: string,
  deletedWithOwner = true,
): GuardedCatalog => ({
  catalog,
  owner,
  key: `x.${column}`,
  made: `x.${column}`,
  ...(deletedWithOwner ? { deletedWithOwner } : {}),
});

/** A catalog no scope ever owns a row of: any change to it is a change outside the scope. */
const unattributed = (catalog: string): GuardedCatalog => ({
  catalog,
  owner: '-',
  key: '',
  made: 'x.oid',
});

const GUARDED: GuardedCatalog[] = [
  objects('pg_class'),
  partsOf('pg_class', 'pg_attribute', 'attrelid'),
  partsOf('pg_class', 'pg_index', 'indexrelid'),
  partsOf('pg_class', 'pg_sequence', 'seqrelid'),
  // A partition can be detached, its table kept: not deleted with its owner.
  partsOf('pg_class', 'pg_inherits', 'inhrelid', false),
  objects('pg_type'),
  partsOf('pg_type', 'pg_enum', 'enumtypid'),
  partsOf('pg_type', 'pg_range', 'rngtypid'),
  objects('pg_proc'),
  partsOf('pg_proc', 'pg_aggregate', 'aggfnoid'),
  objects('pg_constraint'),
  objects('pg_attrdef'),
  objects('pg_trigger'),
  objects('pg_rewrite'),
  objects('pg_policy'),
  objects('pg_namespace'),
  { catalog: 'pg_depend', owner: '', key: '(x.classid, x.objid)', made: 'x.objid' },
  { catalog: 'pg_description', owner: '', key: '(x.classoid, x.objoid)', made: 'x.objoid' },
  unattributed('pg_extension'),
  unattributed('pg_collation'),
  unattributed('pg_authid'),
];

/**
 * One guarded catalog: every row made after initdb is counted in one pass, in which only
 * the rows written since the watermark are looked up in the scope (so the pass costs little
 * per row); the rows of the scope are counted through the catalog's index, per object.
 */
function guardSelect({ catalog, owner, key, made, deletedWithOwner }: GuardedCatalog): string {
  const pair = key.startsWith('(');
  const [classColumn, objectColumn] = pair ? key.slice(1, -1).split(', ') : ['', key];
  const scoped =
    owner === '-'
      ? 'false'
      : pair
        ? `${key} IN (SELECT classid, objid FROM scoped)`
        : `${key} IN (SELECT objid FROM scoped WHERE classid = '${owner}'::regclass)`;
  const inside =
    owner === '-'
      ? 'SELECT 0 AS inside'
      : `SELECT coalesce(sum(c.n), 0) AS inside FROM scoped s CROSS JOIN LATERAL (
    SELECT count(*) AS n FROM ${catalog} x
    WHERE ${pair ? `${classColumn} = s.classid AND ` : ''}${objectColumn} = s.objid AND ${made} >= 16384) c
  ${pair ? '' : `WHERE s.classid = '${owner}'::regclass`}`;
  if (deletedWithOwner)
    // Counted only after the change (with a watermark): rows written since, outside the scope.
    return `SELECT '${catalog}' AS catalog, 0::bigint AS outside, count(*) FILTER (
         WHERE age(x.xmin) <= age($7::xid) AND NOT ${scoped}) AS fresh
FROM ${catalog} x WHERE $7::xid IS NOT NULL AND ${made} >= 16384`;
  return `SELECT '${catalog}' AS catalog, t.total - i.inside AS outside, t.fresh
FROM (SELECT count(*) AS total,
             count(*) FILTER (WHERE $7::xid IS NOT NULL AND age(x.xmin) <= age($7::xid)
                                AND NOT ${scoped}) AS fresh
      FROM ${catalog} x WHERE ${made} >= 16384) t,
     (${inside}) i`;
}

/**
 * $1 excluded schemas, $2 names, $3..$6 carried relation, type, routine and schema oids,
 * $7 watermark (or NULL), $8 whether to count the dependents (they can be many: every view
 * over a table). Objects created by initdb (oid < 16384) never join the scope.
 */
const SCOPE_SQL = `
WITH RECURSIVE
user_ns AS (
  SELECT n.oid, n.nspname FROM pg_namespace n
  WHERE n.nspname <> ALL($1::text[])
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
),
named(classid, objid) AS (
  SELECT 'pg_class'::regclass::oid, c.oid FROM pg_class c
  WHERE c.relname = ANY($2::name[]) AND c.relnamespace IN (SELECT oid FROM user_ns)
  UNION SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t
  WHERE t.typname = ANY($2::name[]) AND t.typnamespace IN (SELECT oid FROM user_ns)
  UNION SELECT 'pg_proc'::regclass::oid, p.oid FROM pg_proc p
  WHERE p.proname = ANY($2::name[]) AND p.pronamespace IN (SELECT oid FROM user_ns)
  UNION SELECT 'pg_class'::regclass::oid, c.oid FROM pg_class c WHERE c.oid = ANY($3::oid[])
  UNION SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t WHERE t.oid = ANY($4::oid[])
  UNION SELECT 'pg_proc'::regclass::oid, p.oid FROM pg_proc p WHERE p.oid = ANY($5::oid[])
),
closure(classid, objid) AS (
  SELECT classid, objid FROM named WHERE objid >= 16384
  UNION
  SELECT x.classid, x.objid FROM closure c CROSS JOIN LATERAL (
    SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = c.classid AND d.refobjid = c.objid
      AND d.deptype IN ('a', 'i') AND d.objid >= 16384
    UNION ALL
    SELECT d.refclassid, d.refobjid FROM pg_depend d
    WHERE d.classid = c.classid AND d.objid = c.objid
      AND d.deptype IN ('a', 'i') AND d.refobjid >= 16384
      AND d.refclassid NOT IN ('pg_namespace'::regclass, 'pg_extension'::regclass)
  ) x
),
scoped AS MATERIALIZED (
  SELECT classid, objid FROM closure
  UNION
  SELECT 'pg_namespace'::regclass::oid, n.oid FROM user_ns n
  WHERE n.nspname = ANY($2::name[]) OR n.oid = ANY($6::oid[])
),
guard AS (
${GUARDED.map(guardSelect).join('\nUNION ALL\n')}
)
SELECT
  (SELECT coalesce(array_agg(objid::text), '{}') FROM scoped WHERE classid = 'pg_class'::regclass) AS relations,
  (SELECT coalesce(array_agg(objid::text), '{}') FROM scoped WHERE classid = 'pg_type'::regclass) AS types,
  (SELECT coalesce(array_agg(objid::text), '{}') FROM scoped WHERE classid = 'pg_proc'::regclass) AS routines,
  (SELECT coalesce(array_agg(objid::text), '{}') FROM scoped WHERE classid = 'pg_namespace'::regclass) AS schemas,
  CASE WHEN $8::boolean THEN (SELECT count(DISTINCT (d.classid, d.objid)) FROM scoped s CROSS JOIN LATERAL (
     SELECT d.classid, d.objid FROM pg_depend d
     WHERE d.refclassid = s.classid AND d.refobjid = s.objid AND d.deptype <> 'e' OFFSET 0) d
   WHERE (d.classid, d.objid) NOT IN (SELECT classid, objid FROM scoped)) END AS dependents,
  (SELECT jsonb_object_agg(catalog, jsonb_build_object('outside', outside, 'fresh', fresh)) FROM guard) AS guard,
  (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::text AS watermark
`;

interface ScopeRow {
  relations: string[];
  types: string[];
  routines: string[];
  schemas: string[];
  dependents: string | null;
  guard: CatalogGuard;
  watermark: string;
}

/**
 * Resolves the scope of `names` in the database `client` is connected to, with the oids of
 * `carry` (an earlier scope of the same database) kept in it, and the guard; with `since`
 * (an earlier scope's watermark) the guard also counts the rows written since; with
 * `dependents` the objects outside the scope that depend on it are counted. One query.
 * Run it outside a transaction, when no other session writes to the database.
 */
export async function resolveScope(
  client: Client,
  names: string[],
  options: { carry?: SnapshotScope; since?: string; dependents?: boolean } = {},
): Promise<ResolvedScope> {
  const carry = options.carry;
  // Not prepared: a cached generic plan of this query turns bad once the catalogs'
  // statistics change during a run.
  const rows = await withCatalogSettings(
    client,
    async () =>
      (
        await client.query<ScopeRow>(SCOPE_SQL, [
          EXCLUDED_SCHEMAS,
          names,
          carry?.relations ?? [],
          carry?.types ?? [],
          carry?.routines ?? [],
          carry?.schemas ?? [],
          options.since ?? null,
          options.dependents ?? false,
        ])
      ).rows,
  );
  const row = rows[0];
  return {
    snapshot: {
      relations: row.relations,
      types: row.types,
      routines: row.routines,
      schemas: row.schemas,
    },
    dependents: row.dependents === null ? null : Number(row.dependents),
    guard: row.guard,
    watermark: row.watermark,
  };
}

/**
 * The catalogs in which something outside the scope changed between two guards (`after`
 * resolved with `before`'s scope carried and `since` its watermark); empty when nothing did.
 */
export function changesOutsideScope(before: CatalogGuard, after: CatalogGuard): string[] {
  const catalogs = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return catalogs.filter((catalog) => {
    const was = before[catalog];
    const now = after[catalog];
    return !was || !now || was.outside !== now.outside || now.fresh > 0;
  });
}
