import type { Command } from 'commander';
import type { DeployOptions } from '../actions/deploy';
import { workflowStartOptions } from '../command-options';
import { signingOptions } from '../signing-options';

/** The command's work, loaded when it runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/deploy');

export function register(program: Command): void {
  const deployCommand = program
    .command('deploy')
    .description(
      "start the guide's production deployment as a durable workflow: validation, approvals, backup, migrations, verification, monitoring window; rolls itself back on the guide's triggers",
    );
  const command = workflowStartOptions(deployCommand, {
    env: 'production',
    envDescription: 'environment to deploy to',
    wait: 'follow the steps and exit 0 only if the deploy completed',
  })
    .option('--fleet <name>', 'roll the plan out to every database of fleets.<name>, in waves')
    .option(
      '--app-version <version>',
      'also deploy this application version with the configured hook',
    )
    .option(
      '--waive-rehearsal <reason>',
      'deploy without a passing staging rehearsal (recorded and notified)',
    )
    .option('--high-risk', 'require the high-risk approvals (executive) whatever validation finds')
    .option(
      '--accept-changed-rollback <reason>',
      'let compensation run rollback files changed since applied (recorded; approved with the deploy)',
    )
    .option(
      '--monitoring-window <duration>',
      "how long to watch after deploying (default: the environment's monitoringWindow)",
    )
    .option('--monitoring-interval <duration>', 'time between monitoring samples')
    .option(
      '--approval-expiry <duration>',
      'how long approvals may take (default: approvals.expiry, 24h)',
    );
  signingOptions(command, false).action(async (_opts: unknown, command: Command) => {
    process.exitCode = await (await actions()).deploy(command.optsWithGlobals<DeployOptions>());
  });
}
