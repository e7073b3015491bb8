/**
 * How pgshift writes numbers for people: versions, sizes, durations. Pure and import-free:
 * the CLI, the activities and the workflows (inside the Temporal sandbox) all use it.
 */

/** `7` → `007`, as migration files are numbered. */
export function formatVersion(version: number): string {
  return String(version).padStart(3, '0');
}

/** `512 B`, `1.5 KB`, `12.5 MB`, `3.2 GB`: powers of 1024, one decimal. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `42 s`, `3 min 5 s`. */
export function formatSeconds(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/**
 * What a schema refused, in one line: `path: message; …` (at most `limit` issues; `root`
 * names an issue of the whole value, whose path is empty).
 */
export function formatIssues(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  root = '',
  limit = Infinity,
): string {
  return issues
    .slice(0, limit)
    .map((issue) => `${issue.path.join('.') || root}: ${issue.message}`)
    .join('; ');
}
