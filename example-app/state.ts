import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The deployed version and the versions before it, kept on disk so deploy and rollback
 * survive restarts. `past` is a stack: deploy pushes the current version, rollback pops it.
 */
export interface AppState {
  current: string;
  /** The version a rollback returns to (the top of `past`), null when there is none. */
  previous: string | null;
  past: string[];
  history: { action: 'deploy' | 'rollback' | 'initial'; version: string; at: string }[];
}

const LIMIT = 50;

/** Reads the state file, or starts one at `initialVersion` when there is none yet. */
export function readState(file: string, initialVersion: string): AppState {
  if (!existsSync(file)) {
    const state: AppState = {
      current: initialVersion,
      previous: null,
      past: [],
      history: [{ action: 'initial', version: initialVersion, at: new Date().toISOString() }],
    };
    writeState(file, state);
    return state;
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<AppState>;
  if (typeof parsed.current !== 'string')
    throw new Error(`${file}: not an example-app state file (no "current" version)`);
  const past = parsed.past ?? (parsed.previous ? [parsed.previous] : []);
  return {
    current: parsed.current,
    previous: past.at(-1) ?? null,
    past,
    history: parsed.history ?? [],
  };
}

/** Writes atomically (temp file + rename), so a crash never leaves half a file. */
export function writeState(file: string, state: AppState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(state, null, 2) + '\n');
  renameSync(temp, file);
}

/** The state after deploying `version`; deploying the current version again changes nothing (idempotent). */
export function deployVersion(state: AppState, version: string): AppState {
  if (version === state.current) return state;
  const past = [...state.past, state.current].slice(-LIMIT);
  return {
    current: version,
    previous: state.current,
    past,
    history: append(state.history, 'deploy', version),
  };
}

/**
 * The state after going back to the previous version, or to `target` when given (a version
 * in `past`; already being at it is success, so a retried rollback does not go back twice);
 * null when there is no such version.
 */
export function rollbackVersion(state: AppState, target?: string): AppState | null {
  if (target !== undefined && target === state.current) return state;
  const at = target === undefined ? state.past.length - 1 : state.past.lastIndexOf(target);
  if (at < 0) return null;
  target = state.past[at];
  const past = state.past.slice(0, at);
  return {
    current: target,
    previous: past.at(-1) ?? null,
    past,
    history: append(state.history, 'rollback', target),
  };
}

function append(
  history: AppState['history'],
  action: 'deploy' | 'rollback',
  version: string,
): AppState['history'] {
  return [...history, { action, version, at: new Date().toISOString() }].slice(-LIMIT);
}
