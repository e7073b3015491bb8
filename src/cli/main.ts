import { Command, CommanderError } from 'commander';
import { reportError } from './output';
import { registerCommands } from './commands';
import { pgshiftVersion } from './version';

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('pgshift')
    .description(
      'PostgreSQL schema migrations deployed as durable Temporal workflows: rehearse on staging, deploy to production behind approvals, roll back in an emergency.',
    )
    .option('--json', 'print machine-readable JSON')
    .option('--verbose', 'print stack traces on errors')
    .version(pgshiftVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  await registerCommands(program, argv);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      ) {
        process.exitCode = 0;
        return;
      }
      process.exitCode = 2;
      return;
    }
    process.exitCode = reportError(error, program.opts());
  }
}
