import type { Command } from 'commander';
import { UsageError } from '../../errors';
import { connectClient } from '../../temporal/connection';
import {
  rehearsalWorkflowId,
  stagingRehearsalResultSchema,
  type StagingRehearsalInput,
} from '../../../workflows/definitions';
import { resolveInitiator } from '../initiator';
import { assertRehearsable, environmentConfig, loadConfig } from '../../config';
import { emit } from '../output';
import { storePlanForWorkflow } from '../plan-input';
import { followProgress, startPgshiftWorkflow } from '../workflow-runs';

interface RehearseOptions {
  env: string;
  dir: string;
  wait?: boolean;
  as?: string;
  rollbackDepth?: string;
  rollbackTarget?: string[];
  skipFunctionalChecks?: boolean;
  json?: boolean;
}

const MARK = { passed: '✓', failed: '✗', skipped: '–' } as const;

export function register(program: Command): void {
  program
    .command('rehearse')
    .description(
      "run the guide's enhanced staging rehearsal as a durable workflow: validate, backup, migrate, verify, rollback rehearsal, functional checks, report",
    )
    .option('--env <name>', 'environment to rehearse on', 'staging')
    .option('--dir <dir>', 'migrations folder', 'migrations')
    .option('--wait', 'follow the steps and exit 0 only if the rehearsal passed')
    .option('--as <name>', 'who starts it (default: PGSHIFT_USER or the OS user)')
    .option(
      '--rollback-depth <n>',
      'how many of the newest migrations to roll back and re-apply (default 2)',
    )
    .option('--rollback-target <version...>', 'versions to roll back to instead of the defaults')
    .option('--skip-functional-checks', 'skip the health and SQL checks step')
    .action(async (_opts: unknown, command: Command) => {
      const opts = command.optsWithGlobals<RehearseOptions>();
      const code = await rehearse(opts);
      process.exitCode = code;
    });
}

function parseVersion(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} ${value} is not a migration number`);
  return n;
}

/**
 * The friendly early refusal of a rehearsal on a production-tier environment, from the
 * local config when it can be read. The worker refuses in any case (activities/tier.ts).
 */
function refuseProductionEarly(environment: string): void {
  let settings;
  try {
    settings = environmentConfig(loadConfig(), environment);
  } catch {
    return;
  }
  assertRehearsable(settings);
}

export async function rehearse(opts: RehearseOptions): Promise<number> {
  refuseProductionEarly(opts.env);
  const plan = await storePlanForWorkflow(opts.dir);
  const initiator = resolveInitiator(opts.as);
  const input: StagingRehearsalInput = {
    environment: opts.env,
    plan,
    initiator,
    options: {
      ...(opts.rollbackDepth !== undefined
        ? { rollbackDepth: parseVersion(opts.rollbackDepth, '--rollback-depth') }
        : {}),
      ...(opts.rollbackTarget
        ? { rollbackTargets: opts.rollbackTarget.map((t) => parseVersion(t, '--rollback-target')) }
        : {}),
      ...(opts.skipFunctionalChecks ? { skipFunctionalChecks: true } : {}),
    },
  };
  const client = await connectClient();
  try {
    const workflowId = rehearsalWorkflowId(opts.env, plan.checksum);
    const top = Math.max(...plan.migrations.map((m) => m.version));
    const { handle, link } = await startPgshiftWorkflow(client, {
      kind: 'stagingRehearsal',
      workflowId,
      input,
      environment: opts.env,
      initiator,
      planChecksum: plan.checksum,
      summary: `Staging rehearsal on ${opts.env}: ${plan.migrations.length} migrations up to ${top}, plan ${plan.checksum.slice(0, 12)}`,
      details: `Started by **${initiator}**. Validate → backup → migrate → verify → rollback rehearsal → rollback tests → functional checks → report. Staging is restored exactly if any step fails.`,
    });
    const log = (line: string) => {
      if (!opts.json) process.stdout.write(line + '\n');
    };
    log(
      `Started staging rehearsal ${workflowId} (plan ${plan.checksum.slice(0, 12)}, ${plan.migrations.length} migrations)`,
    );
    log(`Web UI: ${link}`);
    if (!opts.wait) {
      emit(
        opts,
        { workflowId, runId: handle.firstExecutionRunId, link, planChecksum: plan.checksum },
        () => '',
      );
      return 0;
    }
    const result = await followProgress(handle, log, stagingRehearsalResultSchema);
    emit(opts, result, (r) =>
      [
        '',
        `Rehearsal ${r.finalState.toUpperCase()}${r.failure ? `: ${r.failure}` : ''}`,
        ...(r.compensation ? [`Compensation: ${r.compensation}`] : []),
        'Staging validation criteria:',
        ...r.criteria.map((c) => `  ${MARK[c.status]} ${c.name} — ${c.detail}`),
        ...(r.reportPath ? [`Report: ${r.reportPath}`] : []),
      ].join('\n'),
    );
    return result.finalState === 'passed' ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}
