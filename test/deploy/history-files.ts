/**
 * Workflow histories as JSON files (test/histories/*.json) and back. Written with the proto
 * classes' own toObject/fromObject (longs and bytes as strings, enums by name): readable,
 * diffable, and independent of the protobufjs copy `historyToJSON` trips over in this install.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { temporal } from '@temporalio/proto';

type History = temporal.api.history.v1.IHistory;
const HistoryType = temporal.api.history.v1.History;

export interface HistoryFile {
  workflowId: string;
  workflowType: string;
  /** What the run ended as (for people reading the file). */
  finalState: string;
  history: Record<string, unknown>;
}

export function writeHistoryFile(
  path: string,
  meta: Omit<HistoryFile, 'history'>,
  history: History,
): void {
  const object = HistoryType.toObject(HistoryType.fromObject(history), {
    longs: String,
    enums: String,
    bytes: String,
  });
  writeFileSync(path, JSON.stringify({ ...meta, history: object }, null, 1) + '\n');
}

export function readHistoryFile(path: string): HistoryFile & { proto: History } {
  const file = JSON.parse(readFileSync(path, 'utf8')) as HistoryFile;
  return { ...file, proto: HistoryType.fromObject(file.history) };
}
