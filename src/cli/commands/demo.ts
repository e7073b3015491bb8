import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole story on an embedded local stack: staging rehearsal, approved production deploy, automatic rollback, emergency rollback, status',
    )
    .option('--keep', 'leave the stack running at the end to explore the Web UI')
    .option('--dir <dir>', 'folder for the demo state (recreated)', '.pgshift/demo')
    .option('--migrations <dir>', 'migrations folder', 'migrations')
    .action(async (opts: { keep?: boolean; dir: string; migrations: string }) => {
      const { runDemo } = await import('../../dev/demo/story');
      process.exitCode = await runDemo({
        keep: opts.keep,
        dir: opts.dir,
        migrationsDir: opts.migrations,
      });
    });
}
