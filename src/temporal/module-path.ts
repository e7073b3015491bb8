import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Resolves a module path relative to `dir` for both built code (`.js`, via require.resolve)
 * and TypeScript sources run by vitest or tsx (`.ts`, `index.ts`), where Node's own
 * require.resolve does not know the `.ts` extension.
 */
export function resolveModulePath(dir: string, relative: string): string | undefined {
  const base = join(dir, relative);
  try {
    return require.resolve(base);
  } catch {
    for (const candidate of [`${base}.ts`, join(base, 'index.ts')])
      if (existsSync(candidate)) return candidate;
    return undefined;
  }
}
