import type { Command } from 'commander';
import type { VerifyOptions } from '../actions/verify';

/** The command's work, loaded when it runs. */
const actions = () => import('../actions/verify');

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      "run the guide's post-deployment verification on its own: SELECT 1, critical row counts, SQL checks, HTTP health checks; exit 1 when any fails",
    )
    .requiredOption('--env <name>', 'environment to verify (e.g. production)')
    .option(
      '--config <path>',
      'pgshift config file (default ./pgshift.config.json or PGSHIFT_CONFIG)',
    )
    .option(
      '--baseline <file>',
      'row counts taken before the deploy (`pgshift verify --json` output): fail when a count dropped',
    )
    .action(async (_opts: unknown, command: Command) => {
      process.exitCode = await (await actions()).verify(command.optsWithGlobals<VerifyOptions>());
    });
}
