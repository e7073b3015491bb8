/**
 * Long synchronous passes over a plan (parsing, linting, hashing thousands of files) give the
 * event loop a turn now and then, so that a worker busy with a plan of thousands of files
 * still heartbeats and answers the workflow tasks of its other runs.
 */

/** Items (migrations, files, findings) handled between two turns of the event loop. */
export const ITEMS_PER_TURN = 25;

/** Lets timers and I/O run (heartbeats, workflow tasks) in the middle of long synchronous work. */
export function giveEventLoopATurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Calls `fn` on every item in order, giving the event loop a turn every `perTurn` items. */
export async function eachWithTurns<T>(
  items: Iterable<T>,
  fn: (item: T, index: number) => void | Promise<void>,
  perTurn = ITEMS_PER_TURN,
): Promise<void> {
  let index = 0;
  for (const item of items) {
    if (index > 0 && index % perTurn === 0) await giveEventLoopATurn();
    await fn(item, index++);
  }
}

/** Runs `fn` on the items `size` at a time (I/O in parallel, memory and event loop bounded). */
export async function inBatches<T, R>(
  items: T[],
  size: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size)
    results.push(
      ...(await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)))),
    );
  return results;
}
