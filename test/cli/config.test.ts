import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config';
import { configReference, formatConfigReference } from '../../src/config/reference';
import { configSchemaText } from '../../src/cli/actions/config';
import { runCli } from './run-cli';

const repoRoot = join(__dirname, '..', '..');

describe('pgshift config schema', () => {
  it('matches the committed pgshift.config.schema.json (regenerate with `pgshift config schema --out pgshift.config.schema.json`)', () => {
    expect(readFileSync(join(repoRoot, 'pgshift.config.schema.json'), 'utf8')).toBe(
      configSchemaText(),
    );
  });

  it('writes the schema with --out, describing keys for editors', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pgshift-schema-')), 'schema.json');
    const result = await runCli(['config', 'schema', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`wrote ${out}`);
    const schema = JSON.parse(readFileSync(out, 'utf8'));
    const production = schema.properties.environments.additionalProperties.properties;
    expect(production.approvals.properties.expiry.description).toContain('approval-expired');
    expect(production.databaseUrlEnv.description).toContain('NAME of the environment variable');
  });
});

describe('pgshift config check', () => {
  it('loads the example config and prints each resolved environment', async () => {
    const result = await runCli([
      'config',
      'check',
      '--config',
      join(repoRoot, 'pgshift.config.example.json'),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('pgshift.config.example.json: OK');
    expect(result.stdout).toMatch(/^ {2}production$/m);
    expect(result.stdout).toContain('database URL from PRODUCTION_DATABASE_URL');
    expect(result.stdout).toContain('requires a passing rehearsal on staging');
  });

  it('lists every key error with its path and exits 2', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pgshift-config-')), 'pgshift.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        environments: {
          production: {
            approvals: { expiry: 'soon', rooster: {} },
            healthChecks: [{ name: 'api' }],
          },
        },
      }),
    );
    const result = await runCli(['config', 'check', '--config', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`pgshift: ${file} has 3 problems:`);
    expect(result.stderr).toContain('environments.production.healthChecks[0].url: required');
    expect(result.stderr).toContain(
      'environments.production.approvals.expiry: expected a duration',
    );
    expect(result.stderr).toContain('environments.production.approvals.rooster: unknown key');
    expect(result.stderr).not.toMatch(/\n\s+at /);

    const json = await runCli(['config', 'check', '--config', file, '--json']);
    expect(json.code).toBe(2);
    const { error } = JSON.parse(json.stdout);
    expect(error.code).toBe('ConfigError');
    expect(error.issues.map((i: { path: string }) => i.path)).toEqual([
      'environments.production.healthChecks[0].url',
      'environments.production.approvals.expiry',
      'environments.production.approvals.rooster',
    ]);
  });

  it('names a missing config file and exits 2', async () => {
    const result = await runCli(['config', 'check', '--config', '/nonexistent/pgshift.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('config file /nonexistent/pgshift.json does not exist');
  });
});

describe('configuration reference', () => {
  const rows = configReference(configJsonSchema());

  it('describes every key of the config file', () => {
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((row) => !row.description).map((row) => row.path)).toEqual([]);
  });

  it('gives type and default of each key as the zod schema defines them', () => {
    const byPath = Object.fromEntries(rows.map((row) => [row.path, row]));
    expect(byPath['environments.<name>.approvals.expiry']).toMatchObject({
      type: expect.stringContaining('duration'),
      default: '"24h"',
    });
    expect(byPath['environments.<name>.healthChecks[].url']).toMatchObject({
      type: 'URL',
      required: true,
    });
    expect(byPath['environments.<name>.thresholds.errorRatePercent'].default).toBe('5');
  });

  it('prints as a Markdown table', () => {
    const table = formatConfigReference(rows).split('\n');
    expect(table[0]).toBe('| key | type | default | description |');
    expect(table).toContain(
      '| `environments.<name>.checks[].expect` | "non-empty" \\| "zero-rows" \\| object | `"non-empty"` | "non-empty" (at least one row), "zero-rows", or `{ "equals": value }` (first column of the first row). |',
    );
  });
});
