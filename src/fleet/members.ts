import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Client } from 'pg';
import { ConfigError } from '../config/errors';
import { ENVIRONMENT_NAME, ENVIRONMENT_NAME_RULE } from '../config/schema';
import type { FleetConfig, PgshiftConfig } from '../config/schema';

/** The config of fleet `name`, or a ConfigError naming the fleets that exist. */
export function fleetConfig(config: PgshiftConfig, name: string): FleetConfig {
  const fleet = config.fleets[name];
  if (!fleet) {
    const known = Object.keys(config.fleets);
    throw new ConfigError(
      `unknown fleet "${name}": ${config.source ?? 'the config'} ${known.length ? `configures ${known.join(', ')}` : 'configures no fleet'}; add fleets.${name}`,
      [{ path: `fleets.${name}`, message: 'not configured' }],
      config.source ?? undefined,
    );
  }
  return fleet;
}

/**
 * The member environment names of a fleet, in rollout order: the static list, the first
 * column of the catalogue query, or the lines of the file. Names are checked (lowercase
 * environment names) and must be unique; an empty fleet is an error.
 */
export async function resolveFleetMembers(
  config: PgshiftConfig,
  name: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  const fleet = fleetConfig(config, name);
  const where = (key: string) => `fleets.${name}.${key}`;
  let members: string[];
  let source: string;
  if (fleet.environments) {
    members = fleet.environments;
    source = where('environments');
  } else if (fleet.file) {
    const path = resolve(config.source ? dirname(config.source) : process.cwd(), fleet.file);
    source = `${where('file')} (${path})`;
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(`${source} cannot be read: ${error.code ?? error.message}`, [
        { path: where('file'), message: error.code ?? error.message },
      ]);
    });
    members = text
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter(Boolean);
  } else {
    const catalogue = fleet.catalogue!;
    source = `the catalogue query of ${where('catalogue')}`;
    const url = env[catalogue.databaseUrlEnv];
    if (!url)
      throw new ConfigError(
        `${catalogue.databaseUrlEnv} is not set: export the URL of the catalogue database of fleet ${name}`,
        [{ path: where('catalogue.databaseUrlEnv'), message: 'not set' }],
      );
    members = await readCatalogue(url, catalogue.query);
  }
  const bad = members.filter((m) => !ENVIRONMENT_NAME.test(m));
  if (bad.length)
    throw new ConfigError(
      `${source} yields ${bad.length} invalid environment name(s) (${bad
        .slice(0, 3)
        .map((b) => JSON.stringify(b))
        .join(', ')}): ${ENVIRONMENT_NAME_RULE}`,
      [{ path: `fleets.${name}`, message: 'invalid member names' }],
    );
  const seen = new Set<string>();
  const twice = members.filter((m) => seen.size === seen.add(m).size);
  if (twice.length)
    throw new ConfigError(
      `${source} names ${twice.slice(0, 3).join(', ')} more than once: a database is rolled out once per rollout`,
      [{ path: `fleets.${name}`, message: 'duplicate members' }],
    );
  if (!members.length)
    throw new ConfigError(`${source} yields no database: fleet ${name} is empty`, [
      { path: `fleets.${name}`, message: 'empty' },
    ]);
  return members;
}

async function readCatalogue(url: string, query: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    const result = await client.query({ text: query, rowMode: 'array' });
    await client.query('COMMIT');
    return (result.rows as unknown[][]).map((row) => String(row[0]));
  } finally {
    await client.end();
  }
}
