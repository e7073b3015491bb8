import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cachedTemporalBinary,
  findTemporalBinary,
  resolveTemporalBinary,
} from '../../src/temporal/temporal-binary';

function executable(path: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '#!/bin/sh\n');
  chmodSync(path, 0o755);
  return path;
}

describe('resolveTemporalBinary', () => {
  const root = mkdtempSync(join(tmpdir(), 'pgshift-bin-'));
  const home = join(root, 'home');
  const onPath = executable(join(root, 'path-dir', 'temporal'));
  const explicit = executable(join(root, 'explicit', 'temporal'));

  it('prefers PGSHIFT_TEMPORAL_BIN, then PATH, then the cache', () => {
    const cached = executable(cachedTemporalBinary({ HOME: home }));
    expect(
      findTemporalBinary({
        HOME: home,
        PATH: join(root, 'path-dir'),
        PGSHIFT_TEMPORAL_BIN: explicit,
      }),
    ).toBe(explicit);
    expect(findTemporalBinary({ HOME: home, PATH: join(root, 'path-dir') })).toBe(onPath);
    expect(findTemporalBinary({ HOME: home, PATH: join(root, 'empty') })).toBe(cached);
  });

  it('keeps the cache under XDG_CACHE_HOME when it is set', () => {
    expect(cachedTemporalBinary({ HOME: home, XDG_CACHE_HOME: join(root, 'xdg') })).toBe(
      join(root, 'xdg', 'pgshift', 'bin', 'temporal'),
    );
    expect(cachedTemporalBinary({ HOME: home })).toBe(
      join(home, '.cache', 'pgshift', 'bin', 'temporal'),
    );
  });

  it('names a PGSHIFT_TEMPORAL_BIN that is not executable', () => {
    expect(() =>
      findTemporalBinary({ PGSHIFT_TEMPORAL_BIN: join(root, 'missing'), PATH: '' }),
    ).toThrow(/PGSHIFT_TEMPORAL_BIN=.*missing is not an executable file/);
  });

  it('returns undefined without a binary and without Go (the SDK download takes over)', async () => {
    await expect(
      resolveTemporalBinary({ env: { HOME: join(root, 'empty-home'), PATH: join(root, 'empty') } }),
    ).resolves.toBeUndefined();
  });
});
