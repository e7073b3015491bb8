import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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

/**
 * Runs the real Squawk linter over the given SQL (written to a private temporary folder, so
 * what is linted is exactly what the plan holds). Transactional files are linted as if
 * wrapped in a transaction, the way the runner executes them.
 */
export async function runSquawk(inputs: SquawkInput[]): Promise<SquawkViolation[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pgshift-squawk-'));
  try {
    const names = new Map<string, string>();
    await Promise.all(
      inputs.map(async (input, index) => {
        const name = `${String(index).padStart(4, '0')}.sql`;
        names.set(name, input.file);
        await writeFile(join(dir, name), input.sql);
      }),
    );
    const groups = await Promise.all(
      [true, false].map((inTransaction) =>
        lintGroup(
          dir,
          inputs
            .map((input, index) => ({ input, name: `${String(index).padStart(4, '0')}.sql` }))
            .filter(({ input }) => input.transactional === inTransaction)
            .map(({ name }) => name),
          inTransaction,
        ),
      ),
    );
    return groups.flat().map((v) => ({
      file: names.get(v.file.replace(/^.*[\\/]/, '')) ?? v.file,
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
