/**
 * How pgshift writes numbers for people: versions, sizes, durations. Pure and import-free:
 * the CLI, the activities and the workflows (inside the Temporal sandbox) all use it.
 */

/** `7` → `007`, as migration files are numbered. */
export function formatVersion(version: number): string {
  return String(version).padStart(3, '0');
}

/** `512 B`, `1.5 KiB`, `3.2 MiB`, `1.25 GiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** `42 s`, `3 min 5 s`. */
export function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
