import type { Command } from 'commander';
import type { FleetDecisionOptions } from '../actions/fleet';
import type { GlobalOptions } from '../output';
import { signingOptions } from '../signing-options';

/** The commands' work, loaded when one runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/fleet');

export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description(
      'fleet rollouts (`pgshift deploy --fleet <name>`): resume a halted or waiting rollout, show its waves',
    );
  const resume = fleet
    .command('resume')
    .description(
      'continue a halted rollout (its failed databases are tried again) or start the next wave when the fleet waits for an approval between waves',
    )
    .argument('<fleet>', 'the fleet name (fleets.<name> in the config)')
    .option('--as <name>', 'who resumes (must be on the fleet approvals roster)')
    .option('--reason <text>', 'why, kept with the decision');
  signingOptions(resume).action(async (name: string, _opts: unknown, command: Command) => {
    const opts = command.optsWithGlobals<FleetDecisionOptions>();
    process.exitCode = await (await actions()).sendDecision(name, 'resume', opts);
  });
  fleet
    .command('status')
    .description('per-wave counts and failed databases with their reasons')
    .argument('<fleet>', 'the fleet name')
    .action(async (name: string, _opts: unknown, command: Command) => {
      await (await actions()).showFleet(name, command.optsWithGlobals<GlobalOptions>());
    });
}
