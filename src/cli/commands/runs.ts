import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { connectClient } from '../../temporal/connection';
import { emit, type GlobalOptions } from '../output';
import { buildListQuery, endedWell, inspectRun, listRuns } from '../run-inspect';
import { formatRunList, formatRunView } from '../run-view';
import { watchRun } from '../run-watch';

interface ListOptions extends GlobalOptions {
  env?: string;
  kind?: string;
  status?: string;
  phase?: string;
  limit: string;
}

interface WatchCommandOptions extends GlobalOptions {
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

export function register(program: Command): void {
  program
    .command('status')
    .description(
      'show one run: phase, steps with durations, missing approvals, running activity, migrations, backup, final state',
    )
    .argument('<workflowId>', 'the workflow id printed when the run started (see `pgshift list`)')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<GlobalOptions>();
      const view = await withClient((client) => inspectRun(client, workflowId));
      emit(opts, view, (v) => formatRunView(v).join('\n'));
    });

  program
    .command('watch')
    .description(
      'follow one run live until it ends (redraws in place on a terminal); exit 0 only if it ended well',
    )
    .argument('<workflowId>', 'the workflow id printed when the run started (see `pgshift list`)')
    .option('--interval <ms>', 'how often to refresh', '500')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<WatchCommandOptions>();
      const intervalMs = parsePositive(opts.interval, '--interval');
      const view = await withClient((client) =>
        watchRun(client, workflowId, {
          json: opts.json,
          tty: Boolean(process.stdout.isTTY),
          columns: process.stdout.columns,
          intervalMs,
        }),
      );
      process.exitCode = endedWell(view) ? 0 : 1;
    });

  program
    .command('list')
    .description('recent pgshift runs, newest first, from the visibility API (search attributes)')
    .option('--env <name>', 'only this environment (PgshiftEnvironment)')
    .option(
      '--kind <kind>',
      'stagingRehearsal, productionDeploy, emergencyRollback or archivePreservedDatabase',
    )
    .option('--status <status>', 'running, completed, failed, canceled, terminated or timed-out')
    .option('--phase <phase>', 'only runs in this phase (PgshiftPhase)')
    .option('--limit <n>', 'at most this many runs', '20')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<ListOptions>();
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
    });
}
