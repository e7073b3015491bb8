import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Migration, MigrationPlan } from '../../src/migrations/types';

export interface MigrationSource {
  version: number;
  name?: string;
  forward: string;
  rollback: string;
  forwardTransactional?: boolean;
  rollbackTransactional?: boolean;
  highRisk?: boolean;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const pad = (version: number) => String(version).padStart(3, '0');

/** A MigrationPlan built in memory, the way the loader would build it from files. */
export function buildPlan(sources: MigrationSource[]): MigrationPlan {
  const migrations: Migration[] = sources.map((source) => {
    const name = source.name ?? `step_${source.version}`;
    const forwardFile = `${pad(source.version)}_${name}.sql`;
    const rollbackFile = `${pad(source.version)}_rollback.sql`;
    return {
      version: source.version,
      name,
      forward: {
        file: forwardFile,
        sql: source.forward,
        checksum: sha(source.forward),
        header: { migration: forwardFile, description: name, author: 'test', date: '2024-01-01' },
        transactional:
          source.forwardTransactional ?? !source.forward.includes('-- pgshift:no-transaction'),
      },
      rollback: {
        file: rollbackFile,
        sql: source.rollback,
        checksum: sha(source.rollback),
        header: {
          rollback: rollbackFile,
          reverses: forwardFile,
          author: 'test',
          date: '2024-01-01',
        },
        transactional:
          source.rollbackTransactional ?? !source.rollback.includes('-- pgshift:no-transaction'),
      },
      highRisk: source.highRisk ?? source.forward.includes('-- pgshift:high-risk'),
    };
  });
  return { checksum: sha(migrations.map((m) => m.forward.checksum).join()), migrations };
}

/** A plan from a fixture folder of NNN_name.sql / NNN_rollback.sql pairs. */
export function planFromFolder(dir: string): MigrationPlan {
  const files = readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort();
  const versions = [...new Set(files.map((f) => Number(f.split('_')[0])))];
  return buildPlan(
    versions.map((version) => {
      const forward = files.find(
        (f) => Number(f.split('_')[0]) === version && !f.endsWith('_rollback.sql'),
      )!;
      return {
        version,
        name: forward.replace(/^\d+_/, '').replace(/\.sql$/, ''),
        forward: readFileSync(join(dir, forward), 'utf8'),
        rollback: readFileSync(join(dir, `${pad(version)}_rollback.sql`), 'utf8'),
      };
    }),
  );
}
