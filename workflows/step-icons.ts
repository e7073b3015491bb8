import type { Step } from './definitions';

/** One mark per step status, the same in the CLI's progress lines and the Web UI's details. */
export const STEP_ICON: Record<Step['status'], string> = {
  pending: '·',
  running: '▶',
  completed: '✓',
  failed: '✗',
  skipped: '–',
  compensated: '↺',
};
