import { escapeIdentifier as q, escapeLiteral, type Client } from 'pg';

/**
 * Settings PostgreSQL keeps on the database itself, which a pg_dump of its contents does not
 * carry: `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET`, grants on the database,
 * its connection limit and its comment. A restore into a new database copies them from the
 * database it replaces, so that an application finds the same search_path, timeouts and
 * CONNECT privileges after a rollback.
 */

/** Parameters whose value is a list of quoted items (PostgreSQL's GUC_LIST_QUOTE). */
const LIST_QUOTED = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'shared_preload_libraries',
  'local_preload_libraries',
]);

/** `name=value` of pg_db_role_setting as an ALTER … SET clause, quoted as pg_dump does. */
export function setClause(entry: string): string {
  const eq = entry.indexOf('=');
  const name = entry.slice(0, eq);
  const value = entry.slice(eq + 1);
  if (!LIST_QUOTED.has(name.toLowerCase())) return `SET ${q(name)} TO ${escapeLiteral(value)}`;
  const items: string[] = [];
  for (const raw of value.match(/("([^"]|"")*"|[^,])+/g) ?? []) {
    const item = raw.trim();
    items.push(item.startsWith('"') ? item.slice(1, -1).replace(/""/g, '"') : item);
  }
  return `SET ${q(name)} TO ${items.length ? items.map(escapeLiteral).join(', ') : "''"}`;
}

/** The statements that give database `to` the properties of database `from`. */
export async function databasePropertyStatements(
  admin: Client,
  from: string,
  to: string,
): Promise<string[]> {
  const { rows } = await admin.query<{
    oid: number;
    connlimit: number;
    comment: string | null;
    acl: string[] | null;
  }>(
    `SELECT d.oid, d.datconnlimit AS connlimit, d.datacl::text[] AS acl,
            shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d WHERE d.datname = $1`,
    [from],
  );
  if (!rows.length) return [];
  const { oid, connlimit, comment, acl } = rows[0];
  const target = q(to);
  const statements: string[] = [];
  if (comment !== null)
    statements.push(`COMMENT ON DATABASE ${target} IS ${escapeLiteral(comment)}`);
  if (connlimit !== -1) statements.push(`ALTER DATABASE ${target} CONNECTION LIMIT ${connlimit}`);
  if (acl !== null) {
    const grants = await admin.query<{
      grantee: string | null;
      privilege: string;
      grantable: boolean;
    }>(
      `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
              a.privilege_type AS privilege, a.is_grantable AS grantable
         FROM pg_database d, aclexplode(d.datacl) a WHERE d.oid = $1
        ORDER BY 1 NULLS FIRST, 2`,
      [oid],
    );
    statements.push(`REVOKE ALL ON DATABASE ${target} FROM PUBLIC`);
    for (const g of grants.rows)
      statements.push(
        `GRANT ${g.privilege} ON DATABASE ${target} TO ${g.grantee === null ? 'PUBLIC' : q(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`,
      );
  }
  const settings = await admin.query<{ role: string | null; config: string[] }>(
    `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_get_userbyid(s.setrole) END AS role,
            s.setconfig AS config
       FROM pg_db_role_setting s WHERE s.setdatabase = $1 ORDER BY 1 NULLS FIRST`,
    [oid],
  );
  for (const { role, config } of settings.rows)
    for (const entry of config)
      statements.push(
        role === null
          ? `ALTER DATABASE ${target} ${setClause(entry)}`
          : `ALTER ROLE ${q(role)} IN DATABASE ${target} ${setClause(entry)}`,
      );
  return statements;
}

/**
 * Copies the properties of database `from` onto database `to`, statement by statement.
 * Returns the statements that failed with their errors (e.g. a superuser-only parameter
 * when the restoring user is not a superuser): the caller reports them, the restore goes on.
 */
export async function copyDatabaseProperties(
  admin: Client,
  from: string,
  to: string,
): Promise<string[]> {
  const failed: string[] = [];
  for (const statement of await databasePropertyStatements(admin, from, to))
    await admin.query(statement).catch((error: Error) => {
      failed.push(`${statement}: ${error.message}`);
    });
  return failed;
}
