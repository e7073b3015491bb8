import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, tryParseDuration } from '../../src/config';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['15s', 15_000],
    ['10m', 600_000],
    ['15min', 900_000],
    ['24h', 86_400_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['2500', 2_500],
    [' 4h ', 14_400_000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'soon', '5 parsecs', '-5s', '10mm', 's'])(
    'refuses %j with an example of what to write',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        /invalid duration .* e\.g\. '500ms', '15s', '10m', '24h'/,
      );
      expect(tryParseDuration(text)).toBeUndefined();
    },
  );

  it('writes durations back the way the config does', () => {
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(86_400_000)).toBe('1d');
  });
});
