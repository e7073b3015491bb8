import type { Client } from '@temporalio/client';
import { inspectRun, type RunView } from './run-inspect';
import { formatRunView } from './run-view';

export interface WatchOptions {
  /** One JSON object per line each time the run changes. */
  json?: boolean;
  /** Redraw in place with ANSI escapes (a terminal); otherwise print the lines that changed. */
  tty?: boolean;
  /** Terminal width, to keep each line on one row when redrawing. */
  columns?: number;
  intervalMs?: number;
  write?: (text: string) => void;
}

/** Lines that change on every poll (elapsed time) are not news for a log. */
const VOLATILE = /^ {2}started .*, running for /;

/**
 * Follows a run until it closes, returning its final view. On a terminal the whole view is
 * redrawn in place as steps complete; in a log each changed line is printed once; with
 * --json each changed view is one JSON line. Waits on the run's result, not on sleeps
 * alone: the loop ends as soon as the run does.
 */
export async function watchRun(
  client: Client,
  workflowId: string,
  options: WatchOptions = {},
): Promise<RunView> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const interval = options.intervalMs ?? 500;
  const closed = client.workflow
    .getHandle(workflowId)
    .result()
    .then(
      () => undefined,
      () => undefined,
    );
  let drawn = 0;
  const printed = new Set<string>();
  let lastJson = '';

  const show = (view: RunView) => {
    if (options.json) {
      const { durationMs: _ignored, ...stable } = view;
      const key = JSON.stringify(stable);
      if (key !== lastJson || view.status !== 'RUNNING') {
        lastJson = key;
        write(JSON.stringify(view) + '\n');
      }
      return;
    }
    const lines = formatRunView(view);
    if (options.tty) {
      const width = Math.max(20, (options.columns ?? 120) - 1);
      const frame = lines.map((line) =>
        line.length > width ? line.slice(0, width - 1) + '…' : line,
      );
      write((drawn ? `\x1b[${drawn}F\x1b[J` : '') + frame.join('\n') + '\n');
      drawn = frame.length;
      return;
    }
    for (const line of lines) {
      if (printed.has(line)) continue;
      if (VOLATILE.test(line) && [...printed].some((l) => VOLATILE.test(l))) continue;
      printed.add(line);
      write(line + '\n');
    }
  };

  for (;;) {
    const view = await inspectRun(client, workflowId);
    if (view.status !== 'RUNNING') {
      show(view);
      return view;
    }
    show(view);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, interval))]);
  }
}
