import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../../../src/dev/local/postgres-server';

const isRoot = process.getuid?.() === 0;
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function answers(url: string): Promise<number> {
  const client = new Client(url);
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one;
  } finally {
    await client.end();
  }
}

describe('the embedded stack in a private directory', () => {
  it('starts PostgreSQL for root in a mode-700 clone, in a temporary folder the postgres user can reach, removed on stop', async () => {
    // mkdtemp makes a mode-700 folder owned by us, as /root is.
    const clone = mkdtempSync(join(tmpdir(), 'pgshift-private-clone-'));
    made.push(clone);
    expect(statSync(clone).mode & 0o777).toBe(0o700);
    const wanted = join(clone, '.pgshift', 'demo', 'postgres');
    const said: string[] = [];
    const postgres = await startLocalPostgres(wanted, { log: (line) => said.push(line) });
    try {
      expect(await answers(postgres.url)).toBe(1);
      if (isRoot) {
        expect(postgres.relocatedTo).toBeDefined();
        expect(postgres.dataDir.startsWith(postgres.relocatedTo!)).toBe(true);
        expect(said.join('\n')).toContain(
          `PostgreSQL's data lives in ${postgres.relocatedTo}, not in ${wanted} (the postgres OS user cannot reach it)`,
        );
      } else {
        expect(postgres.relocatedTo).toBeUndefined();
        expect(postgres.dataDir).toBe(join(wanted, 'data'));
      }
    } finally {
      await postgres.stop();
    }
    if (postgres.relocatedTo) expect(existsSync(postgres.relocatedTo)).toBe(false);
  });

  it('moves a cluster whose folder is too deep for a Unix socket path', async () => {
    const base = mkdtempSync(join(tmpdir(), 'pgshift-deep-'));
    made.push(base);
    const wanted = join(base, 'a-rather-long-folder-name'.repeat(4), 'postgres');
    const postgres = await startLocalPostgres(wanted);
    try {
      expect(await answers(postgres.url)).toBe(1);
      expect(postgres.relocatedTo).toBeDefined();
    } finally {
      await postgres.stop();
    }
  });
});
