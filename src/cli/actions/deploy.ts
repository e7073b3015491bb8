import type { WorkflowFailedError } from '@temporalio/client';
import { isTemporalError } from '../../temporal/sdk-errors';
import { tryParseDuration } from '../../config/duration';
import { UsageError } from '../../errors';
import { connectClient } from '../../temporal/connection';
import {
  deployWorkflowId,
  productionDeployResultSchema,
  type ApprovalState,
  type ProductionDeployInput,
  type ProductionDeployResult,
} from '../../../workflows/definitions';
import { waitForRequiredApprovals } from '../deploy-handles';
import { resolveInitiator } from '../initiator';
import { emit } from '../output';
import { storePlanForWorkflow } from '../plan-input';
import {
  followProgress,
  formatStep,
  planRunRequest,
  planSize,
  startPgshiftWorkflow,
} from '../workflow-runs';
import { signDecision, type SigningFlags, type StatementTarget } from '../signing';
import { assertAppVersion } from '../../app/version';

export interface DeployOptions {
  env: string;
  fleet?: string;
  dir: string;
  appVersion?: string;
  waiveRehearsal?: string;
  highRisk?: boolean;
  acceptChangedRollback?: string;
  wait?: boolean;
  monitoringWindow?: string;
  monitoringInterval?: string;
  approvalExpiry?: string;
  as?: string;
  json?: boolean;
  key?: string;
  validFor?: string;
}

/**
 * `--key`: the initiator signs the start (`initiate-deploy`) and, when asked for, the rehearsal
 * waiver, before the run exists (`run-id: none`).
 */
export async function signDeployStart(
  target: StatementTarget,
  input: ProductionDeployInput,
  flags: SigningFlags & { key: string },
): Promise<ProductionDeployInput> {
  const start = await signDecision(target, 'initiate-deploy', input.initiator, '', flags);
  const waiver = input.options?.waiveRehearsal;
  return {
    ...input,
    ...start,
    options: {
      ...input.options,
      ...(waiver
        ? {
            waiveRehearsal: {
              ...waiver,
              ...(await signDecision(
                target,
                'rehearsal-waiver',
                input.initiator,
                waiver.reason,
                flags,
              )),
            },
          }
        : {}),
    },
  };
}

function durationFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (tryParseDuration(value) === undefined)
    throw new UsageError(
      `${flag} ${JSON.stringify(value)} is not a duration: write e.g. '2m', '30s', '24h'`,
    );
  return value;
}

export async function deploy(opts: DeployOptions): Promise<number> {
  if (opts.fleet) return (await import('./fleet')).deployFleet({ ...opts, fleet: opts.fleet });
  const options: ProductionDeployInput['options'] = {
    ...(opts.appVersion ? { appVersion: assertAppVersion(opts.appVersion, '--app-version') } : {}),
    ...(opts.waiveRehearsal !== undefined
      ? { waiveRehearsal: { reason: requireText(opts.waiveRehearsal, '--waive-rehearsal') } }
      : {}),
    ...(opts.highRisk ? { highRisk: true } : {}),
    ...(opts.acceptChangedRollback !== undefined
      ? {
          acceptChangedRollback: {
            reason: requireText(opts.acceptChangedRollback, '--accept-changed-rollback'),
          },
        }
      : {}),
    ...(opts.monitoringWindow
      ? { monitoringWindow: durationFlag(opts.monitoringWindow, '--monitoring-window') }
      : {}),
    ...(opts.monitoringInterval
      ? { monitoringInterval: durationFlag(opts.monitoringInterval, '--monitoring-interval') }
      : {}),
    ...(opts.approvalExpiry
      ? { approvalExpiry: durationFlag(opts.approvalExpiry, '--approval-expiry') }
      : {}),
  };
  const plan = await storePlanForWorkflow(opts.dir);
  const initiator = resolveInitiator(opts.as);
  let input: ProductionDeployInput = { environment: opts.env, plan, initiator, options };
  const client = await connectClient();
  try {
    const workflowId = deployWorkflowId(opts.env, plan.checksum);
    if (opts.key)
      input = await signDeployStart(
        {
          namespace: client.options.namespace,
          environment: opts.env,
          workflowId,
          runId: null,
          planChecksum: plan.checksum,
        },
        input,
        { key: opts.key, validFor: opts.validFor },
      );
    const request = planRunRequest({
      kind: 'productionDeploy',
      workflowId,
      input,
      plan,
      what: `Production deploy to ${opts.env}`,
      extra: opts.appVersion ? `, app ${opts.appVersion}` : '',
      details: [
        `Started by **${initiator}**. Plan checksum \`${plan.checksum}\`.`,
        'Validate → approvals → backup → baseline → deploy application → migrate → verify → monitor.',
        'Rolls itself back (rollback files, else the backup; application rollback) on a migration failure, an application deployment failure, failed verification or a threshold crossed while monitoring.',
        ...(opts.waiveRehearsal ? [`**Rehearsal waived**: ${opts.waiveRehearsal}`] : []),
      ].join('\n\n'),
    });
    const { handle, link } = await startPgshiftWorkflow(client, request);
    const say = (line: string) => {
      if (!opts.json) process.stdout.write(line + '\n');
    };
    say(`Started production deploy ${workflowId}`);
    say(`Plan checksum: ${plan.checksum} (${planSize(plan)})`);
    say(`Web UI: ${link}`);
    const approvals = await waitForRequiredApprovals(handle, 20_000);
    for (const line of approvalLines(workflowId, plan.checksum, approvals)) say(line);
    if (!opts.wait) {
      emit(
        opts,
        {
          workflowId,
          runId: handle.firstExecutionRunId,
          link,
          planChecksum: plan.checksum,
          requiredApprovals: approvals?.required ?? null,
        },
        () => '',
      );
      return 0;
    }
    let result: ProductionDeployResult;
    try {
      result = await followProgress(handle, say, productionDeployResultSchema);
    } catch (error) {
      if (isTemporalError<WorkflowFailedError>(error, 'WorkflowFailedError')) {
        const message = error.cause?.message ?? error.message;
        emit(
          opts,
          { workflowId, finalState: 'refused', reason: message },
          () => `\nDeploy REFUSED: ${message}`,
        );
        return 1;
      }
      throw error;
    }
    emit(opts, result, (r) =>
      [
        '',
        `Deploy ${r.finalState.toUpperCase()}${r.reason ? `: ${r.reason}` : ''}`,
        ...(r.compensation ? [`Compensation: ${r.compensation}`] : []),
        ...(r.rehearsalWaiver
          ? [`Rehearsal waived by ${r.rehearsalWaiver.by}: ${r.rehearsalWaiver.reason}`]
          : []),
        ...r.steps.map((s) => `  ${formatStep(s)}`),
        ...(r.reportPath ? [`Report: ${r.reportPath}`] : []),
      ].join('\n'),
    );
    return result.finalState === 'completed' ? 0 : 1;
  } finally {
    await client.connection.close();
  }
}

function requireText(value: string, flag: string): string {
  if (!value.trim())
    throw new UsageError(`${flag} needs a reason, e.g. ${flag} "hotfix for incident 42"`);
  return value.trim();
}

/** What the approvers must do, with the exact commands. */
export function approvalLines(
  workflowId: string,
  planChecksum: string,
  approvals: ApprovalState | undefined,
): string[] {
  if (!approvals?.required.length)
    return [
      'Required approvals: not known yet (no worker has picked the deploy up): see them with',
      `  pgshift approvals ${workflowId}`,
    ];
  return [
    `Required approvals (until ${approvals.expiresAt}): ${approvals.required.join(', ')}`,
    'Each approver runs:',
    ...approvals.missing.map(
      (role) =>
        `  pgshift approve ${workflowId} --role ${role} --as <name> --plan ${planChecksum.slice(0, 12)}`,
    ),
    `Reject with: pgshift reject ${workflowId} --as <name> --reason "<why>"`,
  ];
}
