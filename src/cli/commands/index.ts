import type { Command } from 'commander';
import * as validate from './validate';
import * as migrate from './migrate';
import * as testRollback from './test-rollback';
import * as temporal from './temporal';
import * as rehearse from './rehearse';
import * as runs from './runs';
import * as verify from './verify';
import * as config from './config';
import * as deploy from './deploy';
import * as approve from './approve';
import * as rollback from './rollback';
import * as demo from './demo';

/** Every command module exports `register(program)`; the order here is the order in --help. */
const modules: { register(program: Command): void }[] = [
  validate,
  migrate,
  testRollback,
  temporal,
  rehearse,
  deploy,
  approve,
  runs,
  verify,
  config,
  rollback,
  demo,
];

export function registerCommands(program: Command): void {
  for (const module of modules) module.register(program);
}
