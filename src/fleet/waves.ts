/**
 * Wave sizes and failure budgets of a fleet rollout: pure functions (no I/O), used by the
 * worker when it loads a fleet and by the fleet workflow.
 */

/** `25%` → 0.25; a count stays a count. */
function sizeOf(entry: number | string, total: number): number {
  if (typeof entry === 'number') return entry;
  const share = Number(entry.slice(0, -1)) / 100;
  return Math.ceil(share * total);
}

/**
 * The end (exclusive index) of each wave over `total` members taken in order, from cumulative
 * sizes such as `[1, "25%", "100%"]`. Sizes are capped at `total`; an entry that adds nothing
 * is dropped; members left after the last entry form one more wave. Never an empty wave.
 */
export function waveBoundaries(sizes: (number | string)[], total: number): number[] {
  const ends: number[] = [];
  for (const entry of sizes) {
    const end = Math.min(total, sizeOf(entry, total));
    if (end > (ends[ends.length - 1] ?? 0)) ends.push(end);
  }
  if ((ends[ends.length - 1] ?? 0) < total) ends.push(total);
  return ends;
}

/** The failures tolerated over `total` members: a count, or a share (`"5%"`, rounded down). */
export function failureAllowance(budget: number | string, total: number): number {
  if (typeof budget === 'number') return budget;
  return Math.floor((Number(budget.slice(0, -1)) / 100) * total);
}
