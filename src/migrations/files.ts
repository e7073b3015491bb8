import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { setImmediate as turnOfEventLoop } from 'node:timers/promises';
import { join } from 'node:path';
import { MigrationFileError, UsageError } from './errors';
import { parseForwardHeader, parseRollbackHeader, readHeaderBlock } from './headers';
import { planChecksum } from './plan';
import { ensureParser, sqlFindings } from './sql-statements';
import type { Finding, Migration, MigrationPlan, SqlFile } from './types';

export { planChecksum } from './plan';

const FORWARD_NAME = /^(\d{3,})_([A-Za-z0-9_]+)\.sql$/;
const ROLLBACK_NAME = /^(\d{3,})_rollback\.sql$/;

interface NamedFile {
  file: string;
  version: number;
}

/** sha256 hex of a file's exact bytes. */
export function fileChecksum(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function listSqlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && entry.name.toLowerCase().endsWith('.sql'))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new UsageError(`migrations folder ${dir} does not exist: pass --dir <folder>`);
    throw error;
  }
}

/** Sorts file names into forward and rollback files; bad names become findings. */
function classify(names: string[]): {
  forwards: NamedFile[];
  rollbacks: NamedFile[];
  findings: Finding[];
} {
  const forwards: NamedFile[] = [];
  const rollbacks: NamedFile[] = [];
  const findings: Finding[] = [];
  for (const file of names) {
    const rollback = ROLLBACK_NAME.exec(file);
    const forward = FORWARD_NAME.exec(file);
    if (rollback) rollbacks.push({ file, version: Number(rollback[1]) });
    else if (forward) forwards.push({ file, version: Number(forward[1]) });
    else
      findings.push({
        severity: 'error',
        rule: 'bad-file-name',
        message: `file name "${file}" does not follow NNN_description.sql (forward) or NNN_rollback.sql (rollback), NNN being a number of at least three digits`,
        file,
        line: 1,
      });
  }
  return { forwards, rollbacks, findings };
}

/** Groups files by version, reporting duplicates; returns the single file per version. */
function uniqueByVersion(files: NamedFile[], kind: string, findings: Finding[]) {
  const byVersion = new Map<number, NamedFile[]>();
  for (const file of files) {
    const list = byVersion.get(file.version) ?? [];
    list.push(file);
    byVersion.set(file.version, list);
  }
  const unique = new Map<number, NamedFile>();
  for (const [version, list] of byVersion) {
    if (list.length === 1) {
      unique.set(version, list[0]);
      continue;
    }
    const names = list.map((f) => f.file).join(', ');
    for (const file of list)
      findings.push({
        severity: 'error',
        rule: 'duplicate-version',
        message: `${kind} number ${String(version).padStart(3, '0')} is used by ${list.length} files (${names}): renumber all but one`,
        file: file.file,
        line: 1,
        object: String(version),
      });
  }
  return {
    unique,
    duplicated: new Set([...byVersion].filter(([, l]) => l.length > 1).map(([v]) => v)),
  };
}

function gapFindings(versions: number[], byVersion: Map<number, NamedFile>): Finding[] {
  const findings: Finding[] = [];
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1];
    const next = sorted[i];
    if (next === previous + 1) continue;
    const missing =
      next === previous + 2
        ? String(previous + 1).padStart(3, '0')
        : `${String(previous + 1).padStart(3, '0')}–${String(next - 1).padStart(3, '0')}`;
    const file = byVersion.get(next)?.file;
    findings.push({
      severity: 'error',
      rule: 'version-gap',
      message: `numbering has a gap: no migration ${missing} between ${byVersion.get(previous)?.file} and ${file}; numbers must be contiguous`,
      file,
      line: 1,
      object: missing,
    });
  }
  return findings;
}

/**
 * Reads one file synchronously: migration files are small, and 400 asynchronous reads
 * (open, stat, read, close through the thread pool each) cost ten times more than these.
 */
function readSqlFile(dir: string, file: string): SqlFile {
  const bytes = readFileSync(join(dir, file));
  return { file, sql: bytes.toString('utf8'), checksum: fileChecksum(bytes) };
}

/**
 * Which files' SQL the loader parses. `all` (validate, rehearsals, workflows) checks every
 * file; `forward` (`migrate up`) checks the files that are about to run and leaves the
 * rollback files, which `migrate up` never runs, to `validate` and `migrate down` — their
 * names, headers and pairing are still checked. Parsing is the loader's main cost.
 */
export type SqlCheck = 'all' | 'forward';

/**
 * Reads a migrations folder and validates its structure: file names, headers, pairing,
 * unique and contiguous numbers, SQL syntax. Never throws for file problems: every finding
 * is collected; `plan` holds the well-formed pairs (in version order).
 */
export async function loadMigrations(
  dir: string,
  options: { sqlCheck?: SqlCheck } = {},
): Promise<{ plan: MigrationPlan; findings: Finding[] }> {
  const checkRollbackSql = (options.sqlCheck ?? 'all') === 'all';
  await ensureParser();
  const names = await listSqlFiles(dir);
  const { forwards, rollbacks, findings } = classify(names);
  const forward = uniqueByVersion(forwards, 'migration', findings);
  const rollback = uniqueByVersion(rollbacks, 'rollback', findings);

  const allVersions = new Set([...forwards, ...rollbacks].map((f) => f.version));
  const firstFileOf = new Map<number, NamedFile>();
  for (const f of [...forwards, ...rollbacks])
    if (!firstFileOf.has(f.version)) firstFileOf.set(f.version, f);
  for (const f of forwards) firstFileOf.set(f.version, forward.unique.get(f.version) ?? f);
  findings.push(...gapFindings([...allVersions], firstFileOf));

  const contents = new Map(
    [...forwards, ...rollbacks].map((f) => [f.file, readSqlFile(dir, f.file)] as const),
  );

  const migrations: Migration[] = [];
  let checked = 0;
  for (const version of [...allVersions].sort((a, b) => a - b)) {
    // Checking is synchronous CPU work (~0.3 ms a migration): give the event loop a turn now
    // and then, so that a connection opened beside the load (the CLI's) completes its
    // handshake meanwhile instead of after it.
    if (++checked % 10 === 0) await turnOfEventLoop();
    const forwardFile = forward.unique.get(version);
    const rollbackFile = rollback.unique.get(version);
    if (!forwardFile && !forward.duplicated.has(version) && rollbackFile)
      findings.push({
        severity: 'error',
        rule: 'orphan-rollback',
        message: `rollback ${rollbackFile.file} has no forward migration ${String(version).padStart(3, '0')}_<description>.sql: add it or delete the rollback`,
        file: rollbackFile.file,
        line: 1,
      });
    if (forwardFile && !rollbackFile && !rollback.duplicated.has(version))
      findings.push({
        severity: 'error',
        rule: 'missing-rollback',
        message: `migration ${forwardFile.file} has no rollback file: add ${String(version).padStart(3, '0')}_rollback.sql`,
        file: forwardFile.file,
        line: 1,
      });

    let forwardPart: Migration['forward'] | undefined;
    let wellFormed = true;
    let highRisk = false;
    if (forwardFile) {
      const sqlFile = contents.get(forwardFile.file)!;
      const block = readHeaderBlock(sqlFile.file, sqlFile.sql);
      const { header, findings: headerFindings } = parseForwardHeader(sqlFile.file, block);
      const fileFindings = [
        ...headerFindings,
        ...sqlFindings(sqlFile.file, sqlFile.sql, !block.noTransaction),
      ];
      findings.push(...fileFindings);
      wellFormed &&= !fileFindings.some((f) => f.severity === 'error');
      forwardPart = { ...sqlFile, header, transactional: !block.noTransaction };
      highRisk = block.highRisk;
    }
    let rollbackPart: Migration['rollback'] | undefined;
    if (rollbackFile) {
      const sqlFile = contents.get(rollbackFile.file)!;
      const block = readHeaderBlock(sqlFile.file, sqlFile.sql);
      const { header, findings: headerFindings } = parseRollbackHeader(
        sqlFile.file,
        block,
        forwardFile?.file,
      );
      const fileFindings = [
        ...headerFindings,
        ...(checkRollbackSql ? sqlFindings(sqlFile.file, sqlFile.sql, !block.noTransaction) : []),
      ];
      findings.push(...fileFindings);
      wellFormed &&= !fileFindings.some((f) => f.severity === 'error');
      rollbackPart = { ...sqlFile, header, transactional: !block.noTransaction };
    }
    if (!forwardPart || !rollbackPart || !wellFormed) continue;
    migrations.push({
      version,
      name: FORWARD_NAME.exec(forwardPart.file)![2],
      forward: forwardPart,
      rollback: rollbackPart,
      highRisk,
    });
  }
  findings.sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0),
  );
  return { plan: { checksum: planChecksum(migrations), migrations }, findings };
}

/** Loads a folder into a plan; throws MigrationFileError listing every error finding. */
export async function loadPlan(
  dir: string,
  options: { sqlCheck?: SqlCheck } = {},
): Promise<MigrationPlan> {
  const { plan, findings } = await loadMigrations(dir, options);
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    const list = errors
      .map((f) => `  ${f.file ?? dir}${f.line ? `:${f.line}` : ''}: ${f.message}`)
      .join('\n');
    throw new MigrationFileError(
      findings,
      `${errors.length} problem${errors.length === 1 ? '' : 's'} in migration files of ${dir} (run "pgshift validate" for details):\n${list}`,
    );
  }
  return plan;
}
