import type { Command } from 'commander';

/**
 * Options several commands share, declared once so that they read and default the same
 * everywhere.
 */

/** `--dir <folder>`: the migrations folder (default ./migrations). */
export function migrationsDirOption(command: Command, description = 'migrations folder'): Command {
  return command.option('--dir <folder>', description, 'migrations');
}

/**
 * The options of a command that starts a workflow on an environment: `--env` (with the
 * command's default), `--dir`, `--wait` and `--as`, the initiator.
 */
export function workflowStartOptions(
  command: Command,
  options: { env: string; envDescription: string; wait: string; dirDescription?: string },
): Command {
  return migrationsDirOption(
    command.option('--env <name>', options.envDescription, options.env),
    options.dirDescription,
  )
    .option('--wait', options.wait)
    .option('--as <name>', 'who starts it (default: PGSHIFT_USER or the OS user)');
}
