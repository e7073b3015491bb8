import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileDigest {
  file: string;
  bytes: number;
  sha256: string;
}

/** sha256 of one file, streamed. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
export async function mapLimited<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * Digest of a dump: for a file, its sha256; for a directory-format dump, the sha256 of the
 * sorted listing "<sha256>  <name>\n" of its files. One read pass over the data
 * (about 2-3 s per GB of dump on ordinary disks).
 */
export async function digestDump(
  path: string,
): Promise<{ sha256: string; sizeBytes: number; files: FileDigest[] }> {
  const info = await stat(path);
  if (!info.isDirectory()) {
    const sha256 = await hashFile(path);
    return { sha256, sizeBytes: info.size, files: [] };
  }
  const names = (await readdir(path)).sort();
  const files = await mapLimited(names, 4, async (file): Promise<FileDigest> => {
    const full = join(path, file);
    const [sha256, fileStat] = await Promise.all([hashFile(full), stat(full)]);
    return { file, bytes: fileStat.size, sha256 };
  });
  return {
    sha256: listingDigest(files),
    sizeBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    files,
  };
}

/** The digest of a directory-format dump from its files' digests (in name order). */
export function listingDigest(files: FileDigest[]): string {
  const listing = files.map((f) => `${f.sha256}  ${f.file}\n`).join('');
  return createHash('sha256').update(listing).digest('hex');
}

/** Total size of the files under `path` (for progress while pg_dump writes). */
export async function sizeOf(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return info.size;
    let total = 0;
    for (const name of await readdir(path)) total += await sizeOf(join(path, name));
    return total;
  } catch {
    return 0;
  }
}
