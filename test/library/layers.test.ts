import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');

/** The library: what runs on its own, without Temporal, the CLI or the development tools. */
const LIBRARY = [
  'src/migrations',
  'src/lint',
  'src/backup',
  'src/verify',
  'src/rollback',
  'src/records',
  'src/config',
  'src/app',
  'src/approvals',
  'src/format.ts',
  'src/errors.ts',
  'src/index.ts',
];

/** The layers above it, which the library must not reach. */
const ABOVE = ['src/cli', 'src/temporal', 'workflows', 'activities', 'src/dev', 'example-app'];
const ABOVE_PACKAGES = ['@temporalio/', 'commander'];

function sourceFiles(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(path, name))
    .sort();
}

/** Every module a file imports: import/export … from, import(), require() and import x = require(). */
function importsOf(file: string, text = readFileSync(join(ROOT, file), 'utf8')): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((ref) => ref.fileName);
}

/** `file: 'specifier' (reaches layer)` for each import that leaves the library upwards. */
function upwardImports(file: string, text?: string): string[] {
  const found: string[] = [];
  for (const specifier of importsOf(file, text)) {
    if (specifier.startsWith('.')) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), specifier));
      const layer = ABOVE.find((above) => target === above || target.startsWith(`${above}/`));
      if (layer) found.push(`${file}: '${specifier}' (reaches ${layer})`);
    } else {
      const pkg = ABOVE_PACKAGES.find((name) => specifier === name || specifier.startsWith(name));
      if (pkg) found.push(`${file}: '${specifier}' (reaches ${pkg})`);
    }
  }
  return found;
}

describe('library layers', () => {
  const files = LIBRARY.flatMap(sourceFiles);

  it('reads every file of the library', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('src/index.ts');
    expect(importsOf('src/index.ts')).toContain('./migrations/runner');
  });

  it('names each import that reaches a layer above the library', () => {
    const text = [
      "import { loadPlan } from '../migrations/files';",
      "import type { Activities } from '../../activities';",
      "export { emit } from '../cli/output';",
      "const worker = await import('../temporal/worker');",
      "const { Client } = require('@temporalio/client');",
    ].join('\n');
    expect(upwardImports('src/backup/example.ts', text)).toEqual([
      "src/backup/example.ts: '../../activities' (reaches activities)",
      "src/backup/example.ts: '../cli/output' (reaches src/cli)",
      "src/backup/example.ts: '../temporal/worker' (reaches src/temporal)",
      "src/backup/example.ts: '@temporalio/client' (reaches @temporalio/)",
    ]);
  });

  it.each(LIBRARY)(
    '%s imports nothing from the CLI, Temporal, workflows, activities or dev tools',
    (path) => {
      expect(sourceFiles(path).flatMap((file) => upwardImports(file))).toEqual([]);
    },
  );
});
