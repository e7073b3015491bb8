import { join } from 'node:path';
import { digestDump } from './checksum';
import { BackupIntegrityError } from './errors';
import { listArchive } from './list-archive';
import { readManifest, type BackupManifest } from './manifest';
import { findPgTool, parseToolVersion } from './pg-tools';

/** Recomputes the dump's digest and compares it with the manifest; throws BackupIntegrityError. */
export async function assertChecksum(backupDir: string, manifest: BackupManifest): Promise<void> {
  let digest;
  try {
    digest = await digestDump(join(backupDir, manifest.dumpPath));
  } catch (error) {
    throw new BackupIntegrityError(
      `backup ${manifest.name} in ${backupDir} cannot be read (${(error as Error).message}): it is incomplete or damaged; use another backup`,
      backupDir,
    );
  }
  if (digest.sha256 === manifest.sha256) return;
  const known = new Map(manifest.files.map((f) => [f.file, f.sha256]));
  const changed = digest.files
    .filter((f) => known.get(f.file) !== f.sha256)
    .map((f) => f.file)
    .concat(
      manifest.files.filter((f) => !digest.files.some((d) => d.file === f.file)).map((f) => f.file),
    );
  throw new BackupIntegrityError(
    `backup ${manifest.name} in ${backupDir} does not match its manifest sha256${changed.length ? ` (changed: ${changed.slice(0, 5).join(', ')})` : ''}: it was modified or corrupted; nothing was restored — use another backup`,
    backupDir,
  );
}

export interface BackupVerification {
  name: string;
  sha256: string;
  /** Entries in the archive's table of contents. */
  entries: number;
  tableCount: number;
}

/** Checksum against the manifest, then `pg_restore --list`. Throws on any problem. */
export async function verifyBackup(
  backupDir: string,
  opts: { binDir?: string } = {},
): Promise<BackupVerification> {
  const manifest = await readManifest(backupDir);
  await assertChecksum(backupDir, manifest);
  const major =
    parseToolVersion(`(PostgreSQL) ${manifest.pgDumpVersion}`)?.major ?? manifest.serverMajor;
  const pgRestore = await findPgTool('pg_restore', major, opts);
  const toc = await listArchive(pgRestore.path, join(backupDir, manifest.dumpPath));
  return {
    name: manifest.name,
    sha256: manifest.sha256,
    entries: toc.entries,
    tableCount: toc.tableCount,
  };
}
