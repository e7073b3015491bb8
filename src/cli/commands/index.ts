import type { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Every command module exports `register(program)`; the order here is the order in --help.
 * Modules are loaded on demand: `pgshift migrate up` must not pay for loading the Temporal
 * SDK (hundreds of milliseconds), so only the module that owns the command is required,
 * and all of them only for help or an unknown command.
 */
const modules: { commands: string[]; load: () => CommandModule }[] = [
  { commands: ['validate'], load: () => require('./validate') },
  { commands: ['migrate'], load: () => require('./migrate') },
  { commands: ['test'], load: () => require('./test-rollback') },
  { commands: ['worker', 'dev'], load: () => require('./temporal') },
  { commands: ['rehearse'], load: () => require('./rehearse') },
  { commands: ['deploy'], load: () => require('./deploy') },
  { commands: ['approve', 'reject', 'approvals'], load: () => require('./approve') },
  { commands: ['status', 'watch', 'list'], load: () => require('./runs') },
  { commands: ['verify'], load: () => require('./verify') },
  { commands: ['config'], load: () => require('./config') },
  { commands: ['rollback'], load: () => require('./rollback') },
  { commands: ['demo'], load: () => require('./demo') },
];

/** The command name in argv: the first word after the script that is not an option. */
function commandName(argv: string[]): string | undefined {
  return argv.slice(2).find((arg) => !arg.startsWith('-'));
}

export function registerCommands(program: Command, argv: string[] = []): void {
  const name = commandName(argv);
  const owner = modules.find((m) => name !== undefined && m.commands.includes(name));
  for (const module of owner ? [owner] : modules) module.load().register(program);
}
