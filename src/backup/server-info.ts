import type { Client } from 'pg';

export interface ServerInfo {
  serverVersion: string;
  serverMajor: number;
  /** e.g. 150018 */
  serverVersionNum: number;
  /** Connections still available to non-superusers, for sizing -j. */
  freeConnections: number;
  databaseProperties: { owner: string; encoding: string; collate: string; ctype: string };
}

/** Version, free connections and the current database's properties. */
export async function readServerInfo(client: Client): Promise<ServerInfo> {
  const { rows } = await client.query<{
    server_version: string;
    server_version_num: string;
    max_connections: number;
    used: number;
    owner: string;
    encoding: string;
    collate: string;
    ctype: string;
  }>(
    `SELECT current_setting('server_version') AS server_version,
            current_setting('server_version_num') AS server_version_num,
            current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int AS max_connections,
            (SELECT count(*)::int FROM pg_stat_activity) AS used,
            pg_get_userbyid(d.datdba) AS owner,
            pg_encoding_to_char(d.encoding) AS encoding,
            d.datcollate AS collate, d.datctype AS ctype
       FROM pg_database d WHERE d.datname = current_database()`,
  );
  const row = rows[0];
  const num = Number(row.server_version_num);
  return {
    serverVersion: row.server_version.split(' ')[0],
    serverMajor: Math.floor(num / 10000),
    serverVersionNum: num,
    freeConnections: row.max_connections - row.used,
    databaseProperties: {
      owner: row.owner,
      encoding: row.encoding,
      collate: row.collate,
      ctype: row.ctype,
    },
  };
}
