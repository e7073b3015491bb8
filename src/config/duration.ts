/**
 * Durations in the config file are strings a person reads at a glance: '500ms', '15s',
 * '10m', '15min', '24h', '2d', or combined ('1h30m'). A bare number of digits is milliseconds.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  sec: 1_000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)\s*(ms|sec|s|min|m|h|d)/gy;

/** The pattern of a valid duration string (also used in the JSON Schema). */
export const DURATION_PATTERN = '^(\\d+|(\\d+(\\.\\d+)?\\s*(ms|sec|s|min|m|h|d)\\s*)+)$';

/** Parses '10m', '24h', '15s', '500ms', '15min', '1h30m' to milliseconds; throws on anything else. */
export function parseDuration(text: string): number {
  const ms = tryParseDuration(text);
  if (ms === undefined)
    throw new RangeError(
      `invalid duration ${JSON.stringify(text)}: write a number with a unit, e.g. '500ms', '15s', '10m', '24h', '2d'`,
    );
  return ms;
}

/** Like parseDuration, but undefined instead of an exception. */
export function tryParseDuration(text: string): number | undefined {
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!trimmed) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  for (;;) {
    while (trimmed[consumed] === ' ') consumed++;
    if (consumed >= trimmed.length) break;
    PART.lastIndex = consumed;
    const match = PART.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
    consumed = PART.lastIndex;
  }
  return Math.round(total);
}

/** Renders milliseconds the way the config writes them: 90000 → '1m30s', 500 → '500ms'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
