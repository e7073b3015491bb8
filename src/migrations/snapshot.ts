import type { Client } from 'pg';

/**
 * A canonical catalog snapshot: every user-visible schema object, named (never by OID),
 * sorted, with its defining properties. Two snapshots of the same schema are deep-equal
 * and serialise to the same JSON, whichever database or server they were taken in.
 *
 * Deliberately left out: data, sequence current values, OIDs, statistics, and objects that
 * belong to an extension (the extension itself is recorded with its version).
 */
export interface CatalogSnapshot {
  /** Schemas the snapshot was restricted to; null means every user schema. */
  schemas: string[] | null;
  objects: CatalogObject[];
}

export type ObjectKind =
  | 'schema'
  | 'extension'
  | 'table'
  | 'partitioned table'
  | 'foreign table'
  | 'view'
  | 'materialized view'
  | 'sequence'
  | 'column'
  | 'constraint'
  | 'index'
  | 'trigger'
  | 'rule'
  | 'policy'
  | 'function'
  | 'procedure'
  | 'aggregate'
  | 'enum'
  | 'domain'
  | 'composite type'
  | 'range type'
  | 'attribute';

export type PropertyValue = string | number | boolean | null | string[];

export interface CatalogObject {
  kind: ObjectKind;
  /** Unique within its kind, fully qualified: `public.customers.region`. */
  key: string;
  /** For messages: qualified like `key` but without the `public.` prefix. */
  name: string;
  /** `kind key` of the owning object (the table of a column, index, trigger…). */
  parent: string | null;
  /** Defining properties, keys sorted; absent means null (no comment, no default…). */
  properties: Record<string, PropertyValue>;
}

/**
 * Restricts a snapshot to some objects, by oid (as text): the relations (with their columns,
 * constraints, indexes, triggers, rules and policies), the types (with their constraints),
 * the routines and the schemas. Extensions are always included. Oids are per database:
 * a scope is only meaningful in the database it was resolved in (see snapshot-scope.ts).
 */
export interface SnapshotScope {
  relations: string[];
  types: string[];
  routines: string[];
  schemas: string[];
}

/** Schemas never snapshotted: the system's and pgshift's own ledger schema. */
export const EXCLUDED_SCHEMAS = ['pg_catalog', 'information_schema', 'pgshift'];

/** Order in which kinds appear in a snapshot (containers before their contents). */
export const KIND_ORDER: ObjectKind[] = [
  'schema',
  'extension',
  'enum',
  'domain',
  'composite type',
  'attribute',
  'range type',
  'sequence',
  'table',
  'partitioned table',
  'foreign table',
  'view',
  'materialized view',
  'column',
  'constraint',
  'index',
  'trigger',
  'rule',
  'policy',
  'function',
  'procedure',
  'aggregate',
];

/**
 * The comment on an object, joined as `d` (`d.description`; `d.xmin` goes into its stamp):
 * the object is `objoid` in `catalog`, and `subid` a column of it when given.
 */
const commentOf = (objoid: string, catalog: string, subid?: string) =>
  `LEFT JOIN LATERAL (SELECT description, xmin FROM pg_description
                   WHERE objoid = ${objoid} AND classoid = '${catalog}'::regclass${subid === undefined ? '' : ` AND objsubid = ${subid}`}) d ON true`;

/**
 * The stamp of an object, joined as `st`: its letter, the oid and row version of its catalog
 * row (alias `row`), that of its comment, then `more` (SQL appended with ||).
 */
const stampOf = (letter: string, row: string, more = '') =>
  `CROSS JOIN LATERAL (SELECT '${letter}' || ${row}.oid || ':' || ${row}.xmin || ',' || coalesce(d.xmin::text, '')${more ? `\n${more}` : ''} AS stamp) st`;

/**
 * One SELECT of the triggers, rules or policies of the relations in `rel`: the rows of
 * `catalog` (as `alias`) whose column `relation` is the relation's oid, named
 * `relation.name`, with `properties` and their comment; `stamp` adds to the stamp (after the
 * shape of the relation, whose column names their definitions print).
 */
const relationParts = (
  kind: ObjectKind,
  catalog: string,
  alias: string,
  name: string,
  relation: string,
  letter: string,
  properties: string,
  more: { stamp?: string; where?: string } = {},
) => `SELECT '${kind}', rel.nspname, rel.relname || '.' || ${alias}.${name}, rel.kind, rel.relname, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         ${properties},
         'comment', d.description) END,
       NULL
FROM rel JOIN ${catalog} ${alias} ON ${alias}.${relation} = rel.oid
${commentOf(`${alias}.oid`, catalog)}
${stampOf(letter, alias, `    || ',' || rel.shape${more.stamp ? ` ${more.stamp}` : ''}`)}
${more.where ? `WHERE ${more.where}` : ''}`;

/** The properties of a trigger or rule (row `alias`): its pg_get_<deparse>, whether enabled. */
const defined = (alias: string, deparse: string, enabled: string) =>
  `'definition', pg_get_${deparse}(${alias}.oid),
         'enabled', ${alias}.${enabled}::text`;

/**
 * One round trip: a UNION of one SELECT per object family, each row
 * (kind, schema, local name, parent kind, parent local name, stamp, props, position).
 * $1 = excluded schemas, $2 = included schemas or NULL for all, $3 = known stamps;
 * Scoped (`snapshotSql(true)`): $4..$7 = the oids of the relations, types, routines and
 * schemas to include (see SnapshotScope).
 *
 * `stamp` names the catalog row versions (oid and xmin) an object's properties are derived
 * from, including those whose names its definition prints: the columns of its own table
 * (`shape`: a column rename changes an index or CHECK definition), the referenced table of
 * a foreign key, the tables a view reads, a trigger's function. When the caller already knows the properties for a stamp (from an earlier snapshot
 * of the same database), `props` is left NULL and nothing is deparsed: the cost of a
 * snapshot then grows with what changed, not with the size of the schema.
 */
const snapshotSql = (isScoped: boolean) => {
  const scoped = (condition: string) => (isScoped ? `(${condition})` : 'true');
  return `
WITH ns AS (
  SELECT n.oid, n.nspname, n.nspowner, n.nspacl, n.xmin FROM pg_namespace n
  WHERE n.nspname <> ALL($1::text[])
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
    AND ($2::text[] IS NULL OR n.nspname = ANY($2::text[]))
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                    AND d.objid = n.oid AND d.deptype = 'e')
),
known AS MATERIALIZED (SELECT DISTINCT unnest($3::text[]) AS stamp),
rel AS MATERIALIZED (
  SELECT c.oid, c.relname, c.relkind, ns.nspname,
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
           WHEN 'f' THEN 'foreign table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
           WHEN 'S' THEN 'sequence' WHEN 'c' THEN 'composite type' END AS kind,
         c.xmin || '/' || coalesce((SELECT string_agg(a.xmin::text, ',' ORDER BY a.attnum)
           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0), '') AS shape
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r','p','f','v','m','S','c')
    AND ${scoped('c.oid = ANY($4::oid[])')}
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT 'schema' AS kind, ns.nspname AS schema, NULL::text AS local, NULL::text AS parent_kind,
       NULL::text AS parent_local, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'owner', pg_get_userbyid(ns.nspowner),
         'acl', (SELECT array_agg(a::text ORDER BY a::text)
                 FROM unnest(coalesce(ns.nspacl, acldefault('n'::"char", ns.nspowner))) a),
         'comment', d.description) END AS props,
       NULL::bigint AS position
FROM ns
${commentOf('ns.oid', 'pg_namespace', '0')}
${stampOf('n', 'ns')}
WHERE ${scoped('ns.oid = ANY($7::oid[])')}
UNION ALL
SELECT 'extension', NULL, e.extname, NULL, NULL, NULL,
       jsonb_build_object('version', e.extversion,
         'schema', e.extnamespace::regnamespace::text,
         'comment', obj_description(e.oid, 'pg_extension')),
       NULL
FROM pg_extension e WHERE $2::text[] IS NULL OR e.extnamespace IN (SELECT oid FROM ns)
UNION ALL
SELECT rel.kind, rel.nspname, rel.relname, owner_col.parent_kind, owner_col.parent_local, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'owner', pg_get_userbyid(c.relowner),
         'persistence', CASE WHEN c.relkind <> 'v' THEN
                          CASE c.relpersistence WHEN 'u' THEN 'unlogged' WHEN 't' THEN 'temporary'
                          ELSE 'permanent' END END,
         'acl', (SELECT array_agg(a::text ORDER BY a::text)
                 FROM unnest(coalesce(c.relacl,
                   acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a),
         'comment', d.description,
         'options', (SELECT array_agg(o ORDER BY o) FROM unnest(c.reloptions) o),
         'rowSecurity', CASE WHEN c.relkind IN ('r','p') THEN c.relrowsecurity END,
         'forceRowSecurity', CASE WHEN c.relkind IN ('r','p') THEN c.relforcerowsecurity END,
         'replicaIdentity', CASE WHEN c.relkind IN ('r','p') THEN c.relreplident::text END,
         'partitionKey', CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
         'partitionOf', (SELECT pc.relnamespace::regnamespace::text || '.' || pc.relname
                         FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                         WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1),
         'partitionBound', CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
         'inherits', (SELECT array_agg(pc.relnamespace::regnamespace::text || '.' || pc.relname
                                       ORDER BY i.inhseqno)
                      FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
                      WHERE i.inhrelid = c.oid AND NOT c.relispartition),
         'definition', CASE WHEN c.relkind IN ('v','m') THEN pg_get_viewdef(c.oid, true) END,
         'populated', CASE WHEN c.relkind = 'm' THEN c.relispopulated END,
         'dataType', CASE WHEN c.relkind = 'S' THEN format_type(s.seqtypid, NULL) END,
         'start', s.seqstart::text,
         'increment', s.seqincrement::text,
         'min', s.seqmin::text,
         'max', s.seqmax::text,
         'cache', s.seqcache::text,
         'cycle', s.seqcycle,
         'ownedBy', owner_col.qualified) END,
       NULL
FROM rel JOIN pg_class c ON c.oid = rel.oid
LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
${commentOf('c.oid', 'pg_class', '0')}
LEFT JOIN LATERAL (
  SELECT oc.relname || '.' || oa.attname AS qualified,
         dep.xmin || '/' || oc.xmin || '/' || oa.xmin AS xmin,
         CASE WHEN oc.relnamespace = c.relnamespace THEN
           CASE oc.relkind WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table'
             ELSE 'table' END END AS parent_kind,
         CASE WHEN oc.relnamespace = c.relnamespace THEN oc.relname END AS parent_local
  FROM pg_depend dep
  JOIN pg_class oc ON oc.oid = dep.refobjid
  JOIN pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
  WHERE c.relkind = 'S' AND dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
    AND dep.refclassid = 'pg_class'::regclass AND dep.refobjsubid > 0
    AND dep.deptype IN ('a','i')
  LIMIT 1) owner_col ON true
${stampOf(
  'c',
  'c',
  `    || ',' || coalesce(s.xmin::text, '') || ',' || coalesce(owner_col.xmin::text, '')
    || CASE WHEN c.relkind IN ('v','m') THEN ',' || coalesce((SELECT string_agg(r.xmin::text, ',')
         FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename = '_RETURN'), '')
         || ',' || coalesce((SELECT string_agg(DISTINCT dr.oid || '=' || dr.shape, ',')
           -- From the view's rule to what it reads (never from a table to all its readers:
           -- a table can have thousands of views); OFFSET 0 keeps the planner to that order.
           FROM (SELECT dep.refobjid FROM pg_rewrite r
                 JOIN pg_depend dep ON dep.classid = 'pg_rewrite'::regclass AND dep.objid = r.oid
                                   AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid <> c.oid
                 WHERE r.ev_class = c.oid AND r.rulename = '_RETURN' OFFSET 0) dep
           JOIN rel dr ON dr.oid = dep.refobjid), '') ELSE '' END
    || CASE WHEN c.relispartition OR c.relhassubclass OR c.relkind = 'r' THEN ',' ||
         coalesce((SELECT string_agg(i.xmin::text, ',') FROM pg_inherits i WHERE i.inhrelid = c.oid), '')
       ELSE '' END`,
)}
WHERE rel.relkind <> 'c'
UNION ALL
SELECT CASE WHEN rel.relkind = 'c' THEN 'attribute' ELSE 'column' END,
       rel.nspname, rel.relname || '.' || a.attname, rel.kind, rel.relname, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'type', format_type(a.atttypid, a.atttypmod),
         'notNull', a.attnotnull,
         'default', pg_get_expr(ad.adbin, ad.adrelid),
         'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
         'generated', CASE a.attgenerated WHEN 's' THEN 'stored' END,
         'collation', CASE WHEN a.attcollation <> t.typcollation
                        THEN (SELECT co.collname FROM pg_collation co WHERE co.oid = a.attcollation) END,
         'storage', CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
         'comment', d.description,
         'acl', (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x)) END,
       rank() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
${commentOf('a.attrelid', 'pg_class', 'a.attnum')}
CROSS JOIN LATERAL (SELECT 'a' || a.attrelid || '.' || a.attnum || ':' || a.xmin || ','
    || coalesce(ad.xmin::text, '') || ',' || coalesce(d.xmin::text, '') AS stamp) st
WHERE a.attnum > 0 AND NOT a.attisdropped AND rel.relkind <> 'S'
UNION ALL
SELECT 'constraint', ns.nspname,
       coalesce(rel.relname, t.typname) || '.' || con.conname,
       coalesce(rel.kind, CASE WHEN t.oid IS NOT NULL THEN 'domain' END),
       coalesce(rel.relname, t.typname), st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'type', CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
                   WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion'
                   WHEN 't' THEN 'trigger' ELSE con.contype::text END,
         'definition', pg_get_constraintdef(con.oid),
         'comment', d.description) END,
       NULL
FROM pg_constraint con JOIN ns ON ns.oid = con.connamespace
LEFT JOIN rel ON rel.oid = con.conrelid
LEFT JOIN pg_type t ON t.oid = con.contypid AND con.contypid <> 0
                    AND ${scoped('t.oid = ANY($5::oid[])')}
${commentOf('con.oid', 'pg_constraint')}
LEFT JOIN rel fr ON fr.oid = con.confrelid AND con.confrelid <> 0
${stampOf('k', 'con', `    || ',' || coalesce(rel.shape, t.xmin::text, '') || ',' || coalesce(fr.shape, '')`)}
WHERE (rel.oid IS NOT NULL OR t.oid IS NOT NULL) AND con.conparentid = 0
  AND ${scoped('con.conrelid = ANY($4::oid[]) OR (con.conrelid = 0 AND con.contypid = ANY($5::oid[]))')}
UNION ALL
SELECT 'index', rel.nspname, ic.relname, rel.kind, rel.relname, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'definition', pg_get_indexdef(i.indexrelid),
         'valid', i.indisvalid,
         'clustered', i.indisclustered,
         'comment', d.description) END,
       NULL
FROM rel JOIN pg_index i ON i.indrelid = rel.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
${commentOf('ic.oid', 'pg_class', '0')}
CROSS JOIN LATERAL (SELECT 'i' || ic.oid || ':' || ic.xmin || ',' || i.xmin || ','
    || coalesce(d.xmin::text, '') || ',' || rel.shape AS stamp) st
UNION ALL
${relationParts(
  'trigger',
  'pg_trigger',
  'tg',
  'tgname',
  'tgrelid',
  't',
  defined('tg', 'triggerdef', 'tgenabled'),
  {
    stamp: `|| ',' || coalesce((SELECT f.xmin::text FROM pg_proc f WHERE f.oid = tg.tgfoid), '')`,
    where: 'NOT tg.tgisinternal AND tg.tgparentid = 0',
  },
)}
UNION ALL
${relationParts(
  'rule',
  'pg_rewrite',
  'r',
  'rulename',
  'ev_class',
  'r',
  defined('r', 'ruledef', 'ev_enabled'),
  {
    where: "r.rulename <> '_RETURN'",
  },
)}
UNION ALL
${relationParts(
  'policy',
  'pg_policy',
  'p',
  'polname',
  'polrelid',
  'p',
  `'permissive', p.polpermissive,
         'command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                      WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
         'roles', (SELECT array_agg(CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END
                                    ORDER BY 1) FROM unnest(p.polroles) r),
         'using', pg_get_expr(p.polqual, p.polrelid),
         'withCheck', pg_get_expr(p.polwithcheck, p.polrelid)`,
)}
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       ns.nspname, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', NULL, NULL,
       st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
         'returns', pg_get_function_result(p.oid),
         'owner', pg_get_userbyid(p.proowner),
         'acl', (SELECT array_agg(a::text ORDER BY a::text)
                 FROM unnest(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a),
         'comment', d.description) END,
       NULL
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
${commentOf('p.oid', 'pg_proc')}
${stampOf('f', 'p')}
WHERE ${scoped('p.oid = ANY($6::oid[])')}
  AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_proc'::regclass
                  AND dep.objid = p.oid AND dep.deptype = 'e')
UNION ALL
SELECT CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type'
         ELSE 'composite type' END,
       ns.nspname, t.typname, NULL, NULL, st.stamp,
       CASE WHEN st.stamp IN (SELECT stamp FROM known) THEN NULL ELSE jsonb_build_object(
         'owner', pg_get_userbyid(t.typowner),
         'acl', (SELECT array_agg(a::text ORDER BY a::text)
                 FROM unnest(coalesce(t.typacl, acldefault('T'::"char", t.typowner))) a),
         'comment', d.description,
         'labels', CASE WHEN t.typtype = 'e' THEN
                     (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                      FROM pg_enum e WHERE e.enumtypid = t.oid) END,
         'baseType', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
         'notNull', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
         'default', t.typdefault,
         'collation', CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 THEN
                        (SELECT co.collname FROM pg_collation co WHERE co.oid = t.typcollation) END,
         'subtype', (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)) END,
       NULL
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
LEFT JOIN pg_class tc ON tc.oid = t.typrelid
${commentOf('t.oid', 'pg_type')}
${stampOf(
  'y',
  't',
  `    || CASE WHEN t.typtype = 'e' THEN ',' || coalesce((SELECT string_agg(e.xmin::text, ',' ORDER BY e.oid)
         FROM pg_enum e WHERE e.enumtypid = t.oid), '') ELSE '' END`,
)}
WHERE (t.typtype IN ('e','d','r') OR (t.typtype = 'c' AND tc.relkind = 'c'))
  AND ${scoped('t.oid = ANY($5::oid[])')}
  AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_type'::regclass
                  AND dep.objid = t.oid AND dep.deptype = 'e')
`;
};

const SNAPSHOT_SQL = snapshotSql(false);
const SCOPED_SNAPSHOT_SQL = snapshotSql(true);

interface SnapshotRow {
  kind: string;
  schema: string | null;
  local: string | null;
  parent_kind: string | null;
  parent_local: string | null;
  stamp: string | null;
  props: Record<string, PropertyValue> | null;
  position: string | null;
}

/**
 * Per snapshot, invisible in its JSON: the properties of each object by stamp, so that a
 * later snapshot of the same database (`reuse`) deparses only what changed.
 */
const stampsOf = new WeakMap<CatalogSnapshot, Map<string, Record<string, PropertyValue>>>();

const kindRank = new Map(KIND_ORDER.map((kind, index) => [kind, index]));

function qualify(schema: string | null, local: string | null): { key: string; name: string } {
  if (schema === null) return { key: local ?? '', name: local ?? '' };
  if (local === null) return { key: schema, name: schema };
  return { key: `${schema}.${local}`, name: schema === 'public' ? local : `${schema}.${local}` };
}

function sortProperties(props: Record<string, PropertyValue>): Record<string, PropertyValue> {
  const sorted: Record<string, PropertyValue> = {};
  for (const key of Object.keys(props).sort()) {
    const value = props[key];
    if (value !== null && value !== undefined) sorted[key] = value;
  }
  return sorted;
}

function toObject(row: SnapshotRow, props: Record<string, PropertyValue>): CatalogObject {
  const { key, name } = qualify(row.schema, row.local);
  const parent =
    row.parent_kind && row.parent_local
      ? `${row.parent_kind} ${qualify(row.schema, row.parent_local).key}`
      : null;
  return {
    kind: row.kind as ObjectKind,
    key,
    name,
    parent,
    properties: sortProperties(
      row.position === null ? props : { ...props, position: Number(row.position) },
    ),
  };
}

/** Orders objects by kind (containers first), then by key in code-point order. */
export function compareObjects(a: CatalogObject, b: CatalogObject): number {
  const byKind = (kindRank.get(a.kind) ?? 99) - (kindRank.get(b.kind) ?? 99);
  if (byKind !== 0) return byKind;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Clients inside withCatalogSettings: a nested call leaves the settings to the outer one. */
const pinned = new WeakSet<Client>();

/**
 * Runs `fn` (catalog queries on `client`) with the session's settings pinned, and restores
 * them afterwards: search_path, because pg_get_*def and format_type print names relative to
 * it (a migration's SET search_path must not change a snapshot); jit off, because once the
 * catalogs' statistics grow the planner's estimates cross jit_above_cost and compiling a
 * catalog query takes ten times longer than running it. Works inside a transaction too.
 * Calls nested in one (a rollback check's scope and snapshot) share its two round trips.
 */
export async function withCatalogSettings<T>(client: Client, fn: () => Promise<T>): Promise<T> {
  if (pinned.has(client)) return fn();
  const saved = await client.query<{ path: string; jit: string }>(
    `SELECT current_setting('search_path') AS path, current_setting('jit') AS jit,
            set_config('search_path', 'pg_catalog', false), set_config('jit', 'off', false)`,
  );
  pinned.add(client);
  try {
    return await fn();
  } finally {
    pinned.delete(client);
    await client.query(
      `SELECT set_config('search_path', $1, false), set_config('jit', $2, false)`,
      [saved.rows[0]?.path ?? '', saved.rows[0]?.jit ?? 'on'],
    );
  }
}

/**
 * Takes a canonical snapshot of the user schemas of the database `client` is connected to
 * (all but pg_catalog, information_schema, pg_toast*, pg_temp* and the `pgshift` ledger
 * schema), or only of `options.schemas`. One catalog query (plus pinning search_path, so
 * that definitions are printed schema-qualified whatever the session's search_path).
 *
 * `reuse`: an earlier snapshot of the SAME database (same connection target). Objects
 * whose catalog rows did not change since (same oid and xmin) take their properties from
 * it instead of being deparsed again, which makes repeated snapshots of a large schema
 * cheap (rollback testing takes two per migration). Names, parents and column positions
 * are always read afresh. Pass it only for the same database: row versions are per database.
 *
 * `scope`: only the objects it lists (snapshot-scope.ts resolves one); such a snapshot
 * neither reuses nor can be reused.
 */
export async function snapshotSchema(
  client: Client,
  options: { schemas?: string[]; reuse?: CatalogSnapshot; scope?: SnapshotScope } = {},
): Promise<CatalogSnapshot> {
  const included = options.schemas && options.schemas.length > 0 ? options.schemas : null;
  const scope = options.scope;
  // A scoped snapshot neither reuses nor lends properties: its stamps are computed from the
  // objects in scope only (a view's stamp leaves out the relations outside it).
  const known =
    (!scope && options.reuse && stampsOf.get(options.reuse)) ||
    new Map<string, Record<string, PropertyValue>>();
  const rows = await withCatalogSettings(client, async () =>
    scope
      ? (
          await client.query<SnapshotRow>(SCOPED_SNAPSHOT_SQL, [
            EXCLUDED_SCHEMAS,
            included,
            [],
            scope.relations,
            scope.types,
            scope.routines,
            scope.schemas,
          ])
        ).rows
      : (
          await client.query<SnapshotRow>(SNAPSHOT_SQL, [
            EXCLUDED_SCHEMAS,
            included,
            [...known.keys()],
          ])
        ).rows,
  );
  const stamps = new Map<string, Record<string, PropertyValue>>();
  const objects = rows
    .map((row) => {
      const props = row.props ?? (row.stamp !== null ? known.get(row.stamp) : undefined) ?? {};
      if (row.stamp !== null) stamps.set(row.stamp, props);
      return toObject(row, props);
    })
    .sort(compareObjects);
  const snapshot: CatalogSnapshot = { schemas: included ? [...included].sort() : null, objects };
  if (!scope) stampsOf.set(snapshot, stamps);
  return snapshot;
}

/** Identity of an object across snapshots: `kind key` (e.g. `index public.idx_x`). */
export function objectId(object: Pick<CatalogObject, 'kind' | 'key'>): string {
  return `${object.kind} ${object.key}`;
}
