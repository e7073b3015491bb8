import type { Command } from 'commander';
import type { RollbackApproveOptions, RollbackOptions } from '../actions/rollback';
import { ISSUE_TYPES, SEVERITIES } from '../../../workflows/contracts/incident-kinds';
import { workflowStartOptions } from '../command-options';
import { signingOptions } from '../signing-options';

/** The commands' work, loaded when one runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/rollback');

export function register(program: Command): void {
  const rollback = workflowStartOptions(
    program
      .command('rollback')
      .description(
        "the guide's emergency rollback as a durable workflow: --migration-target=N, --app-rollback, --full-emergency or --status-only (or --issue and --severity for the decision matrix)",
      ),
    {
      env: 'production',
      envDescription: 'environment to roll back',
      dirDescription: 'migrations folder with the rollback files',
      wait: 'follow the steps until the rollback ends; exit 0 only if it completed',
    },
  )
    .option(
      '--fleet <name>',
      'reverse the rollout of fleets.<name>: deployed databases back to their version, waves in reverse',
    )
    .option(
      '--migration-target <n>',
      'roll the database back to migration N (application untouched)',
    )
    .option(
      '--app-rollback',
      'roll the application back to its previous version (database untouched)',
    )
    .option(
      '--full-emergency',
      'application and database back to the state before the last successful deploy',
    )
    .option(
      '--status-only',
      'report migration state, application version, backups, deploys and running workflows; change nothing',
    )
    .option('--issue <type>', `what broke, for the decision matrix: ${ISSUE_TYPES.join(', ')}`)
    .option('--severity <level>', `how bad, for the decision matrix: ${SEVERITIES.join(', ')}`)
    .option('--break-glass', 'skip the data-loss approval (needs --reason; recorded and notified)')
    .option('--reason <text>', 'why break-glass is needed')
    .option(
      '--accept-changed-rollback <reason>',
      'run rollback files that changed since their migration was applied (recorded; needs the rollback approval in a production tier)',
    )
    .option('--description <text>', 'what happened, for the incident document')
    .option(
      '--watch-window <duration>',
      'how long to watch the thresholds afterwards (default: config rollbackWindow)',
    )
    .option(
      '--watch-interval <duration>',
      'time between threshold samples (default: config monitoringInterval)',
    )
    .option(
      '--approval-timeout <duration>',
      'how long a data-losing rollback waits for its approval (default 1h)',
    );
  signingOptions(rollback, false).action(async (_opts: unknown, command: Command) => {
    const opts = command.optsWithGlobals<RollbackOptions>();
    if (opts.fleet) {
      const { sendDecision } = await import('../actions/fleet');
      process.exitCode = await sendDecision(opts.fleet, 'rollback', opts);
      return;
    }
    process.exitCode = await (await actions()).rollbackCommand(opts);
  });
  const approve = rollback
    .command('approve')
    .description('approve the running data-losing emergency rollback of an environment')
    .option('--env <name>', 'environment whose rollback to approve', 'production')
    .option('--as <name>', 'who approves (default: PGSHIFT_USER or the OS user)')
    .option('--comment <text>', 'a comment kept with the approval');
  signingOptions(approve).action(async (_opts: unknown, command: Command) => {
    const opts = command.optsWithGlobals<RollbackApproveOptions>();
    process.exitCode = await (await actions()).approveCommand(opts);
  });
}
