import type { Command } from 'commander';
import type { RehearseOptions } from '../actions/rehearse';
import { workflowStartOptions } from '../command-options';

/** The command's work, loaded when it runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/rehearse');

export function register(program: Command): void {
  const rehearsal = program
    .command('rehearse')
    .description(
      "run the guide's enhanced staging rehearsal as a durable workflow: validate, backup, migrate, verify, rollback rehearsal, functional checks, report",
    );
  workflowStartOptions(rehearsal, {
    env: 'staging',
    envDescription: 'environment to rehearse on',
    wait: 'follow the steps and exit 0 only if the rehearsal passed',
  })
    .option(
      '--rollback-depth <n>',
      'how many of the newest migrations to roll back and re-apply (default 2)',
    )
    .option('--rollback-target <version...>', 'versions to roll back to instead of the defaults')
    .option('--skip-functional-checks', 'skip the health and SQL checks step')
    .action(async (_opts: unknown, command: Command) => {
      process.exitCode = await (
        await actions()
      ).rehearse(command.optsWithGlobals<RehearseOptions>());
    });
}
