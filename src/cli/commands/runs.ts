import type { Command } from 'commander';
import type { ListOptions, WatchCommandOptions } from '../actions/runs';
import type { GlobalOptions } from '../output';

/** The commands' work, loaded when one runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/runs');

export function register(program: Command): void {
  program
    .command('status')
    .description(
      'show one run: phase, steps with durations, missing approvals, running activity, migrations, backup, final state',
    )
    .argument('<workflowId>', 'the workflow id printed when the run started (see `pgshift list`)')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      await (await actions()).showRun(workflowId, command.optsWithGlobals<GlobalOptions>());
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
      process.exitCode = await (await actions()).watch(workflowId, opts);
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
      await (await actions()).list(command.optsWithGlobals<ListOptions>());
    });
}
