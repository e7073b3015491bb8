import type { Command } from 'commander';
import type { ApproveOptions, RejectOptions } from '../actions/approve';
import { signingOptions } from '../signing-options';

/** The commands' work, loaded when one runs: `--help` does not load the Temporal SDK. */
const actions = () => import('../actions/approve');

/** `pgshift approve`, `pgshift reject` and `pgshift approvals`: the approvers' side of a deploy. */
export function register(program: Command): void {
  const approveCommand = program
    .command('approve <workflowId>')
    .description(
      'approve a waiting production deploy for one role; answered at once: accepted, or refused with the reason (exit 1)',
    )
    .requiredOption(
      '--role <role>',
      'the role you approve as (e.g. engineering-lead, product-owner, devops, executive)',
    )
    .option('--as <name>', 'who approves (default: PGSHIFT_USER or the OS user)')
    .option('--comment <text>', 'a note kept with the approval')
    .option(
      '--plan <checksum>',
      'the plan checksum you reviewed (refused if the deploy applies another plan)',
    );
  signingOptions(approveCommand).action(
    async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await (
        await actions()
      ).approve(workflowId, command.optsWithGlobals<ApproveOptions>());
    },
  );
  const rejectCommand = program
    .command('reject <workflowId>')
    .description('reject a waiting production deploy: it ends with no change made')
    .requiredOption('--reason <text>', 'why (kept in the approvals record and the report)')
    .option('--as <name>', 'who rejects (default: PGSHIFT_USER or the OS user)');
  signingOptions(rejectCommand).action(
    async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await (
        await actions()
      ).reject(workflowId, command.optsWithGlobals<RejectOptions>());
    },
  );
  program
    .command('approvals <workflowId>')
    .description('who approved a deploy and when, what is still missing, and every refused attempt')
    .action(async (workflowId: string, _opts: unknown, command: Command) => {
      process.exitCode = await (
        await actions()
      ).showApprovals(workflowId, command.optsWithGlobals<{ json?: boolean }>());
    });
}
