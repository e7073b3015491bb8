import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const PGSHIFT_BIN = join(ROOT, 'bin', 'pgshift.js');
export const NODE_PG_MIGRATE_BIN = join(
  ROOT,
  'node_modules',
  'node-pg-migrate',
  'bin',
  'node-pg-migrate.js',
);

/** The built CLI (`dist/`) must exist: the benchmark times the real `node bin/pgshift.js`. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js')))
    throw new Error(
      'dist/ is missing: run `npm run build` (or let `npm run bench` build it) first',
    );
}
