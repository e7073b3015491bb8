import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { inBatches } from '../event-loop';
import { fileChecksum } from './files';
import { parseForwardHeader, parseRollbackHeader, readHeaderBlock } from './headers';
import { planChecksum } from './plan';
import { toPlanRef } from './plan-ref';
import { PlanStoreError } from './errors';
import type { Migration, MigrationPlan, MigrationRef, PlanFileRef, PlanRef } from './types';

/**
 * The plan store: a directory of content-addressed files, shared by the CLI that writes a plan
 * and every worker that applies it (config `plansDir`, a volume every worker mounts).
 *
 *   <plansDir>/files/3f/3f2a…c1.sql   one SQL file, named by the sha256 of its exact bytes
 *   <plansDir>/plans/9b1c…04.json     a plan's reference (names, versions, flags, file
 *                                     checksums), named by the plan checksum it hashes to
 *
 * Written once: a key already present is not written again (its content is fixed by its name).
 * Writes are atomic (temporary file, then rename), so a reader never sees half a file. Reads
 * verify: a file must hash to its name, a plan reference to its plan checksum; the transaction
 * and risk flags of every migration are derived again from its SQL, never taken from the store.
 */
export class PlanStore {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  /** Where the file of `checksum` lives. */
  filePath(checksum: string): string {
    return join(this.directory, 'files', checksum.slice(0, 2), `${checksum}.sql`);
  }

  /** Where the reference of plan `checksum` lives. */
  planPath(checksum: string): string {
    return join(this.directory, 'plans', `${checksum}.json`);
  }

  /** Stores one file's bytes (once) and returns its sha256. */
  async putFile(content: Buffer | string): Promise<string> {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    const checksum = fileChecksum(bytes);
    await writeOnce(this.filePath(checksum), bytes);
    return checksum;
  }

  /**
   * The bytes stored under `checksum`, verified. `what` names the file that needs them
   * (e.g. "012_add_index.sql of plan 3f2a9c1b7d4e") in the error.
   */
  async readFile(checksum: string, what?: string): Promise<Buffer> {
    const path = this.filePath(checksum);
    const bytes = await readStored(
      path,
      checksum,
      this.missing(path, what ? `${what}, sha256 ${checksum}` : `file ${checksum}`),
    );
    const actual = fileChecksum(bytes);
    if (actual !== checksum)
      throw new PlanStoreError(
        `the plan store file ${path}${what ? ` (${what})` : ''} does not match its checksum ${checksum} (its content hashes to ${actual}): the store was altered after the plan was stored; delete the file and store the plan again (run the pgshift command again)`,
        checksum,
      );
    return bytes;
  }

  /**
   * Stores every file of `plan` and its reference; returns the reference a workflow carries.
   * Files already present (an earlier plan shared them) are not written again.
   */
  async storePlan(plan: MigrationPlan): Promise<PlanRef> {
    const files = plan.migrations.flatMap((m) => [m.forward, m.rollback]);
    await inBatches(files, 64, async (file) => {
      const stored = await this.putFile(file.sql);
      if (stored !== file.checksum)
        throw new PlanStoreError(
          `${file.file} changed while it was read (checksum ${file.checksum}, now ${stored}): read the plan again`,
          file.checksum,
        );
    });
    const ref = toPlanRef(plan);
    await writeOnce(
      this.planPath(plan.checksum),
      Buffer.from(JSON.stringify({ format: PLAN_FORMAT, ...ref }) + '\n', 'utf8'),
    );
    return ref;
  }

  /** The plan stored under `checksum`: its reference, then every file, all verified. */
  async loadPlan(checksum: string): Promise<MigrationPlan> {
    const path = this.planPath(checksum);
    const text = (
      await readStored(path, checksum, this.missing(path, `plan ${checksum}`))
    ).toString('utf8');
    let ref: PlanRef;
    try {
      ref = JSON.parse(text) as PlanRef;
      if (!Array.isArray(ref.migrations)) throw new Error('no migrations list');
    } catch (error) {
      throw new PlanStoreError(
        `the plan store file ${path} is not a plan reference (${(error as Error).message}): delete it and store the plan again (run the pgshift command again)`,
        checksum,
      );
    }
    return this.hydrate({ checksum, migrations: ref.migrations });
  }

  /**
   * The plan `ref` names, with each file's SQL read from the store (or taken from the ref when
   * it carries it) and verified. Flags and headers are derived from the SQL; the plan checksum
   * over those derived flags must be `ref.checksum`: a reference or file altered in the store
   * is refused, naming the key and the store.
   */
  async hydrate(ref: PlanRef): Promise<MigrationPlan> {
    const short = ref.checksum.slice(0, 12);
    const migrations = await inBatches(ref.migrations, 32, async (m) => {
      const [forwardSql, rollbackSql] = await Promise.all(
        [m.forward, m.rollback].map((file) => this.sqlOf(file, `${file.file} of plan ${short}`)),
      );
      return migrationFromSql(m, forwardSql, rollbackSql);
    });
    const actual = planChecksum(migrations);
    if (actual !== ref.checksum)
      throw new PlanStoreError(
        `the plan reference ${this.planPath(ref.checksum)} does not match plan checksum ${ref.checksum} (its files and flags hash to ${actual}): the store was altered after the plan was stored; delete it and store the plan again (run the pgshift command again)`,
        ref.checksum,
      );
    return { checksum: ref.checksum, migrations };
  }

  private async sqlOf(file: PlanFileRef, what: string): Promise<string> {
    if (typeof file.sql === 'string') return file.sql;
    return (await this.readFile(file.checksum, what)).toString('utf8');
  }

  private missing(path: string, what: string): string {
    return `the plan store ${this.directory} has no ${what} (${path} is missing on host ${hostname()}): the CLI stores a plan there before it starts a run, and every worker must read the same store (config plansDir on a volume the CLI and every worker share); start the run again with the CLI writing to that store`;
  }
}

const PLAN_FORMAT = 'pgshift-plan/1';

/** A migration built again from its SQL: flags and headers come from the files themselves. */
function migrationFromSql(m: MigrationRef, forwardSql: string, rollbackSql: string): Migration {
  const forwardBlock = readHeaderBlock(m.forward.file, forwardSql);
  const rollbackBlock = readHeaderBlock(m.rollback.file, rollbackSql);
  return {
    version: m.version,
    name: m.name,
    forward: {
      file: m.forward.file,
      sql: forwardSql,
      checksum: m.forward.checksum,
      header: parseForwardHeader(m.forward.file, forwardBlock).header,
      transactional: !forwardBlock.noTransaction,
    },
    rollback: {
      file: m.rollback.file,
      sql: rollbackSql,
      checksum: m.rollback.checksum,
      header: parseRollbackHeader(m.rollback.file, rollbackBlock, m.forward.file).header,
      transactional: !rollbackBlock.noTransaction,
    },
    highRisk: forwardBlock.highRisk,
  };
}

/** Reads a stored file; a missing one is a PlanStoreError with `missing` as its message. */
async function readStored(path: string, checksum: string, missing: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw new PlanStoreError(missing, checksum);
    throw error;
  }
}

/** Writes `bytes` at `path` unless a file is there already: temp file in the same folder, then rename. */
async function writeOnce(path: string, bytes: Buffer): Promise<void> {
  if (await exists(path)) return;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, bytes, { mode: 0o600 });
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
