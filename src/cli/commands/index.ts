import type { Command } from 'commander';
import * as validate from './validate';
import * as migrate from './migrate';
import * as testRollback from './test-rollback';
import * as temporal from './temporal';
import * as rehearse from './rehearse';

/** Every command module exports `register(program)`; the order here is the order in --help. */
const modules: { register(program: Command): void }[] = [
  validate,
  migrate,
  testRollback,
  temporal,
  rehearse,
];

export function registerCommands(program: Command): void {
  for (const module of modules) module.register(program);
}
