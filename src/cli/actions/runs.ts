import { UsageError } from '../../errors';
import { connectClient } from '../../temporal/connection';
import { emit, type GlobalOptions } from '../output';
import { buildListQuery, endedWell, inspectRun, listRuns } from '../run-inspect';
import { formatRunList, formatRunView } from '../run-view';
import { watchRun } from '../run-watch';

export interface ListOptions extends GlobalOptions {
  env?: string;
  kind?: string;
  status?: string;
  phase?: string;
  limit: string;
}

export interface WatchCommandOptions extends GlobalOptions {
  interval: string;
}

async function withClient<T>(
  fn: (client: Awaited<ReturnType<typeof connectClient>>) => Promise<T>,
) {
  const client = await connectClient();
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} ${value} is not a positive number`);
  return n;
}

/** `pgshift status <workflowId>`. */
export async function showRun(workflowId: string, opts: GlobalOptions): Promise<void> {
  const view = await withClient((client) => inspectRun(client, workflowId));
  emit(opts, view, (v) => formatRunView(v).join('\n'));
}

/** `pgshift watch <workflowId>`: exit 0 only if the run ended well. */
export async function watch(workflowId: string, opts: WatchCommandOptions): Promise<number> {
  const intervalMs = parsePositive(opts.interval, '--interval');
  const view = await withClient((client) =>
    watchRun(client, workflowId, {
      json: opts.json,
      tty: Boolean(process.stdout.isTTY),
      columns: process.stdout.columns,
      intervalMs,
    }),
  );
  return endedWell(view) ? 0 : 1;
}

/** `pgshift list`. */
export async function list(opts: ListOptions): Promise<void> {
  const filter = {
    environment: opts.env,
    kind: opts.kind,
    status: opts.status,
    phase: opts.phase,
    limit: parsePositive(opts.limit, '--limit'),
  };
  buildListQuery(filter); // usage errors before connecting
  const rows = await withClient((client) => listRuns(client, filter));
  emit(opts, rows, formatRunList);
}
