import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { digestDump, hashFile, listingDigest, mapLimited } from './checksum';
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
    throw unreadable(backupDir, manifest, error);
  }
  if (digest.sha256 === manifest.sha256) return;
  const known = new Map(manifest.files.map((f) => [f.file, f.sha256]));
  const changed = digest.files
    .filter((f) => known.get(f.file) !== f.sha256)
    .map((f) => f.file)
    .concat(
      manifest.files.filter((f) => !digest.files.some((d) => d.file === f.file)).map((f) => f.file),
    );
  throw mismatch(backupDir, manifest, changed);
}

function unreadable(backupDir: string, manifest: BackupManifest, error: unknown) {
  return new BackupIntegrityError(
    `backup ${manifest.name} in ${backupDir} cannot be read (${(error as Error).message}): it is incomplete or damaged; use another backup`,
    backupDir,
  );
}

function mismatch(backupDir: string, manifest: BackupManifest, changed: string[]) {
  return new BackupIntegrityError(
    `backup ${manifest.name} in ${backupDir} does not match its manifest sha256${changed.length ? ` (changed: ${changed.slice(0, 5).join(', ')})` : ''}: it was modified or corrupted; nothing was restored — use another backup`,
    backupDir,
  );
}

/** The one file of a directory-format dump whose content pg_restore runs as SQL. */
const TOC_FILE = 'toc.dat';

/**
 * The checksum in two parts, so that pg_restore can start before every byte is hashed. The
 * first part, awaited here, checks the manifest's file listing against its sha256, the dump's
 * file names against the listing, and `toc.dat`, which holds every statement pg_restore
 * executes. The second part, returned as `data`, hashes the other files: row data that
 * pg_restore only feeds to COPY, so a tampered data file can put rows into a scratch database
 * and nothing else; the caller must await `data` before using what it restored. A dump in a
 * single file is checked whole before this returns.
 */
export async function assertChecksumInParts(
  backupDir: string,
  manifest: BackupManifest,
): Promise<{ data: Promise<void> }> {
  if (!manifest.files.length || !manifest.files.some((f) => f.file === TOC_FILE)) {
    await assertChecksum(backupDir, manifest);
    return { data: Promise.resolve() };
  }
  const dumpDir = join(backupDir, manifest.dumpPath);
  let names: string[];
  try {
    names = (await readdir(dumpDir)).sort();
  } catch (error) {
    throw unreadable(backupDir, manifest, error);
  }
  const listed = manifest.files.map((f) => f.file);
  const unlisted = names.filter((n) => !listed.includes(n));
  const missing = listed.filter((n) => !names.includes(n));
  if (listingDigest(manifest.files) !== manifest.sha256 || unlisted.length || missing.length)
    throw mismatch(backupDir, manifest, [...unlisted, ...missing]);
  const toc = manifest.files.find((f) => f.file === TOC_FILE)!;
  if ((await hashFile(join(dumpDir, TOC_FILE))) !== toc.sha256)
    throw mismatch(backupDir, manifest, [TOC_FILE]);
  const data = (async () => {
    const others = manifest.files.filter((f) => f.file !== TOC_FILE);
    let actual: string[];
    try {
      actual = await mapLimited(others, 4, (f) => hashFile(join(dumpDir, f.file)));
    } catch (error) {
      throw unreadable(backupDir, manifest, error);
    }
    const changed = others.filter((f, i) => actual[i] !== f.sha256).map((f) => f.file);
    if (changed.length) throw mismatch(backupDir, manifest, changed);
  })();
  data.catch(() => undefined);
  return { data };
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
