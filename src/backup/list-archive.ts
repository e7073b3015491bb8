import { BackupError } from './errors';
import { runTool } from './run-tool';

export interface ArchiveToc {
  entries: number;
  tableCount: number;
}

/**
 * Reads the archive's table of contents with `pg_restore --list`: a failure or an empty
 * TOC means the archive is not restorable (BackupError 'invalid-archive').
 */
export async function listArchive(
  pgRestore: string,
  dumpPath: string,
  signal?: AbortSignal,
): Promise<ArchiveToc> {
  const run = await runTool(pgRestore, ['--list', dumpPath], { captureStdout: true, signal });
  const lines = run.stdout.split('\n').filter((line) => /^\d+;/.test(line));
  // An empty database has no TOC entries, but a readable archive always has its header.
  const hasHeader = /^;\s+Archive created at/m.test(run.stdout);
  if (run.exitCode !== 0 || (lines.length === 0 && !hasHeader))
    throw new BackupError(
      `pg_restore --list cannot read ${dumpPath} (${run.exitCode === 0 ? 'empty table of contents' : run.stderrTail || `exit ${run.exitCode}`}): the backup is invalid`,
      'invalid-archive',
    );
  // "215; 1259 16386 TABLE public t owner": type after the catalog and object ids.
  const tableCount = lines.filter((line) =>
    /^\d+;\s+\d+\s+\d+\s+TABLE (?!DATA )/.test(line),
  ).length;
  return { entries: lines.length, tableCount };
}
