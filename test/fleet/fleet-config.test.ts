import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config';
import { resolveFleetMembers } from '../../src/fleet/members';
import { failureAllowance, waveBoundaries } from '../../src/fleet/waves';
import { createTestDatabase, query } from '../support/databases';

describe('fleet waves', () => {
  it('takes cumulative sizes over the fleet in order: a canary, a quarter, the rest', () => {
    expect(waveBoundaries([1, '25%', '100%'], 20)).toEqual([1, 5, 20]);
    expect(waveBoundaries([1, '25%', '100%'], 10_000)).toEqual([1, 2500, 10_000]);
  });

  it('drops waves that add nothing and adds one for the databases left over', () => {
    expect(waveBoundaries([1, '5%', 3], 20)).toEqual([1, 3, 20]);
    expect(waveBoundaries([50], 20)).toEqual([20]);
  });

  it('allows a count of failures, or a share of the fleet rounded down', () => {
    expect(failureAllowance(0, 200)).toBe(0);
    expect(failureAllowance(3, 200)).toBe(3);
    expect(failureAllowance('5%', 200)).toBe(10);
    expect(failureAllowance('5%', 19)).toBe(0);
  });
});

describe('fleet config', () => {
  it('fills the defaults of a fleet named by a static list', () => {
    const config = parseConfig({ fleets: { tenants: { environments: ['t-1', 't-2'] } } }, null);
    expect(config.fleets.tenants).toMatchObject({
      waves: ['100%'],
      concurrency: 4,
      failureBudget: 0,
      betweenWaves: 'continue',
      approvals: { requiredRoles: ['engineering-lead', 'product-owner', 'devops'] },
    });
  });

  it('names the key when a fleet has two member sources or a malformed wave', () => {
    const error = (() => {
      try {
        parseConfig(
          { fleets: { tenants: { environments: ['a'], file: 'x.txt', waves: ['25 %'] } } },
          'pgshift.config.json',
        );
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.message).toMatch(
      /fleets\.tenants: .*exactly one of environments, catalogue or file/,
    );
    expect(error!.message).toMatch(/fleets\.tenants\.waves\[0\]/);
  });

  it('reads members from a file, in order, without comments', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-fleet-config-'));
    writeFileSync(join(dir, 'tenants.txt'), '# tenants\ntenant-b\n\ntenant-a  # the old one\n');
    const config = parseConfig(
      { fleets: { tenants: { file: 'tenants.txt' } } },
      join(dir, 'pgshift.config.json'),
    );
    expect(await resolveFleetMembers(config, 'tenants')).toEqual(['tenant-b', 'tenant-a']);
  });

  it('reads members from a catalogue query, and refuses names that are not environment names', async () => {
    const url = await createTestDatabase('fleet_catalogue');
    await query(url, `CREATE TABLE tenants (id int, env text)`);
    await query(url, `INSERT INTO tenants VALUES (2, 'shard-2'), (1, 'shard-1')`);
    const config = parseConfig(
      {
        fleets: {
          shards: {
            catalogue: {
              databaseUrlEnv: 'CATALOGUE_URL',
              query: 'SELECT env FROM tenants ORDER BY id',
            },
          },
        },
      },
      null,
    );
    expect(await resolveFleetMembers(config, 'shards', { CATALOGUE_URL: url })).toEqual([
      'shard-1',
      'shard-2',
    ]);
    await query(url, `INSERT INTO tenants VALUES (3, 'Shard 3')`);
    await expect(resolveFleetMembers(config, 'shards', { CATALOGUE_URL: url })).rejects.toThrow(
      /yields 1 invalid environment name\(s\) \("Shard 3"\)/,
    );
  });
});
