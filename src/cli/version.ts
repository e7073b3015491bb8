import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** pgshift's own version, from the package.json above this file (built or run from source). */
export function pgshiftVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'pgshift' && pkg.version) return pkg.version;
  }
  return 'unknown';
}
