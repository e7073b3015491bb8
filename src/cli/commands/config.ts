import type { Command } from 'commander';
import type { CheckOptions, SchemaOptions } from '../actions/config';

/** The commands' work, loaded when one runs: `--help` does not load the config schema. */
const actions = () => import('../actions/config');

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('the configuration file: its JSON Schema, and a check of a file');

  config
    .command('schema')
    .description('print (or write with --out) the JSON Schema of pgshift.config.json for editors')
    .option('--out <file>', 'write it to this file (e.g. pgshift.config.schema.json)')
    .action(async (_opts: unknown, command: Command) => {
      (await actions()).printSchema(command.optsWithGlobals<SchemaOptions>());
    });

  config
    .command('check')
    .description(
      'load the config and print the resolved environments; exit 2 listing every key error',
    )
    .option('--config <path>', 'config file (default ./pgshift.config.json or PGSHIFT_CONFIG)')
    .action(async (_opts: unknown, command: Command) => {
      (await actions()).checkConfig(command.optsWithGlobals<CheckOptions>());
    });
}
