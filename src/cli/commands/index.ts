import type { Command } from 'commander';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Every command module exports `register(program)`; the order here is the order in --help.
 * Modules are loaded on demand: only the module that owns the command is required, and all
 * of them for help or an unknown command. A module that needs the Temporal SDK, the workflow
 * contracts or the config (hundreds of milliseconds) declares its command only and loads its
 * work from `src/cli/actions/` when the command runs, so that help stays instant.
 */
const modules: { commands: string[]; load: () => Promise<CommandModule> }[] = [
  { commands: ['validate'], load: () => import('./validate') },
  { commands: ['migrate'], load: () => import('./migrate') },
  { commands: ['test'], load: () => import('./test-rollback') },
  { commands: ['worker', 'dev'], load: () => import('./temporal') },
  { commands: ['rehearse'], load: () => import('./rehearse') },
  { commands: ['deploy'], load: () => import('./deploy') },
  { commands: ['approve', 'reject', 'approvals'], load: () => import('./approve') },
  { commands: ['status', 'watch', 'list'], load: () => import('./runs') },
  { commands: ['verify'], load: () => import('./verify') },
  { commands: ['config'], load: () => import('./config') },
  { commands: ['rollback'], load: () => import('./rollback') },
  { commands: ['fleet'], load: () => import('./fleet') },
  { commands: ['demo'], load: () => import('./demo') },
];

/** The command name in argv: the first word after the script that is not an option. */
function commandName(argv: string[]): string | undefined {
  return argv.slice(2).find((arg) => !arg.startsWith('-'));
}

export async function registerCommands(program: Command, argv: string[] = []): Promise<void> {
  const name = commandName(argv);
  // `pgshift --version` needs no command: it answers before any would run.
  if (name === undefined && argv.some((arg) => arg === '-V' || arg === '--version')) return;
  const owner = modules.find((m) => name !== undefined && m.commands.includes(name));
  for (const module of owner ? [owner] : modules) (await module.load()).register(program);
}
