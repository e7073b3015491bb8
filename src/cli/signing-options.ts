import type { Command } from 'commander';
import type { SigningFlags } from './signing';

/** `--key`, `--valid-for` and `--print-statement`, shared by every command that decides. */
export interface SignedDecisionFlags extends SigningFlags {
  printStatement?: boolean;
}

/** Adds the signing options to a command that sends a decision. */
export function signingOptions(command: Command, printStatement = true): Command {
  command
    .option(
      '--key <path>',
      'sign the decision with this SSH key (ssh-keygen -Y sign -n pgshift): a private key, or a .pub whose key is in ssh-agent',
    )
    .option('--valid-for <duration>', 'how long the signed statement stays valid', '1h');
  if (printStatement)
    command.option(
      '--print-statement',
      'print the exact statement to sign (ssh-keygen -Y sign -f <key> -n pgshift statement.txt) and send nothing',
    );
  return command;
}
