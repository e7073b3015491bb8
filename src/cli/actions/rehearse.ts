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
import { followProgress, planRunRequest, startPgshiftWorkflow } from '../workflow-runs';

export interface RehearseOptions {
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
    const { handle, link } = await startPgshiftWorkflow(
      client,
      planRunRequest({
        kind: 'stagingRehearsal',
        workflowId,
        input,
        plan,
        what: `Staging rehearsal on ${opts.env}`,
        details: `Started by **${initiator}**. Validate → backup → migrate → verify → rollback rehearsal → rollback tests → functional checks → report. Staging is restored exactly if any step fails.`,
      }),
    );
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
