import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inBatches } from '../event-loop';

/** One violation as Squawk reports it (lines made 1-based). */
export interface SquawkViolation {
  file: string;
  line: number;
  rule: string;
  level: 'Warning' | 'Error';
  message: string;
  help?: string;
}

export interface SquawkInput {
  file: string;
  sql: string;
  /** The runner wraps the file in a transaction (Squawk's --assume-in-transaction). */
  transactional: boolean;
}

interface SquawkJson {
  file: string;
  line: number;
  rule_name: string;
  level: string;
  message: string;
  help: string | null;
}

/** Path of the squawk-cli launcher script shipped in node_modules. */
export function squawkBinary(): string {
  const manifest = require.resolve('squawk-cli/package.json');
  const pkg = require(manifest) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.squawk;
  return join(dirname(manifest), bin);
}

function runBinary(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [squawkBinary(), ...args],
      { cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        // Squawk exits 1 when it found violations; its JSON is on stdout either way.
        if (stdout.trim().startsWith('[')) resolve(stdout);
        else if (error)
          reject(new Error(`squawk failed: ${(stderr || error.message).trim().split('\n')[0]}`));
        else resolve('[]');
      },
    );
  });
}

async function lintGroup(cwd: string, files: string[], inTransaction: boolean) {
  if (files.length === 0) return [];
  const args = ['--reporter', 'json', '--no-error-on-unmatched-pattern'];
  if (inTransaction) args.push('--assume-in-transaction');
  const output = await runBinary(cwd, [...args, ...files]);
  return JSON.parse(output) as SquawkJson[];
}

/** Files one Squawk process lints: its JSON report stays small enough to parse in one go. */
const FILES_PER_RUN = 1000;

/** Squawk over `files`, FILES_PER_RUN at a time (one process after the other). */
async function lintInRuns(cwd: string, files: string[], inTransaction: boolean) {
  const violations: SquawkJson[] = [];
  for (let i = 0; i < files.length; i += FILES_PER_RUN)
    for (const violation of await lintGroup(cwd, files.slice(i, i + FILES_PER_RUN), inTransaction))
      violations.push(violation);
  return violations;
}

/**
 * Runs the real Squawk linter over the given SQL (written to a private temporary folder, so
 * what is linted is exactly what the plan holds). Transactional files are linted as if
 * wrapped in a transaction, the way the runner executes them. A plan of thousands of files is
 * written and linted in parts, so the event loop stays free meanwhile.
 */
export async function runSquawk(inputs: SquawkInput[]): Promise<SquawkViolation[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pgshift-squawk-'));
  try {
    const names = inputs.map((_, index) => `${String(index).padStart(4, '0')}.sql`);
    await inBatches(inputs, 64, (input, index) => writeFile(join(dir, names[index]), input.sql));
    const files = new Map(names.map((name, index) => [name, inputs[index].file]));
    const groups = await Promise.all(
      [true, false].map((inTransaction) =>
        lintInRuns(
          dir,
          names.filter((_, index) => inputs[index].transactional === inTransaction),
          inTransaction,
        ),
      ),
    );
    return groups.flat().map((v) => ({
      file: files.get(v.file.replace(/^.*[\\/]/, '')) ?? v.file,
      line: v.line + 1,
      rule: v.rule_name,
      level: v.level === 'Error' ? 'Error' : 'Warning',
      message: v.message,
      ...(v.help ? { help: v.help } : {}),
    }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
