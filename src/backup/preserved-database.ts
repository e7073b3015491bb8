import { createHash } from 'node:crypto';
import { toolConnection } from './connection-args';
import { BackupError } from './errors';
import {
  connectMaintenance,
  databaseExists,
  dropDatabase,
  serverVersionNum,
} from './swap-database';

const SUFFIX = /_pre_[0-9a-f]{10}$/;

/**
 * A name, unique to `key` (an incident id), for keeping database `target` after a restore
 * replaced it: `<target>_pre_<10 hex>`, within PostgreSQL's 63-byte limit.
 */
export function preservedDatabaseName(target: string, key: string): string {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 10);
  return `${target.slice(0, 40)}_pre_${digest}`;
}

export function isPreservedDatabaseName(name: string): boolean {
  return SUFFIX.test(name);
}

/**
 * Drops a database kept by a restore (`preserveAs`). Refuses any other name, and the database
 * `databaseUrl` itself, so that a mistaken caller cannot drop a live database. Returns false
 * when it was already gone.
 */
export async function dropPreservedDatabase(databaseUrl: string, name: string): Promise<boolean> {
  const live = toolConnection(databaseUrl).database;
  if (!isPreservedDatabaseName(name) || name === live)
    throw new BackupError(
      `refusing to drop database "${name}": only a database kept by a restore (named <database>_pre_<10 hex digits>) may be dropped this way`,
      'bad-name',
    );
  const admin = await connectMaintenance(databaseUrl);
  try {
    if (!(await databaseExists(admin, name))) return false;
    await dropDatabase(admin, name, await serverVersionNum(admin));
    return true;
  } finally {
    await admin.end().catch(() => undefined);
  }
}
