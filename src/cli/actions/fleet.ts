import type { Client, WorkflowHandle } from '@temporalio/client';
import { UsageError } from '../../errors';
import { isTemporalError } from '../../temporal/sdk-errors';
import { connectClient, webUiLink } from '../../temporal/connection';
import { taskQueueFromEnv } from '../../temporal/task-queue';
import {
  FLEET_WORKFLOW_TYPE,
  fleetOverviewQuery,
  fleetStatementEnvironment,
  fleetWorkflowId,
  resumeFleetSignal,
  rollbackFleetSignal,
  type FleetDeployInput,
  type FleetDeployResult,
  type FleetOverview,
} from '../../../workflows/fleet/definitions';
import { resolveInitiator } from '../initiator';
import { emit, type GlobalOptions } from '../output';
import { storePlanForWorkflow } from '../plan-input';
import { runAttributePairs } from '../run-attributes';
import { approvalLines } from './deploy';
import { waitForRequiredApprovals } from '../deploy-handles';
import { signDecision } from '../signing';
import { prepareSignedDecision } from './approve';
import type { SignedDecisionFlags } from '../signing-options';

export interface FleetDecisionOptions extends GlobalOptions, SignedDecisionFlags {
  as?: string;
  reason?: string;
}

async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient();
  try {
    return await fn(client);
  } catch (error) {
    if (isTemporalError(error, 'WorkflowNotFoundError'))
      throw new UsageError(
        `no fleet rollout is running under that name: start one with \`pgshift deploy --fleet <name>\``,
      );
    throw error;
  } finally {
    await client.connection.close();
  }
}

/** `pgshift deploy --fleet <name>`: starts the fleet's rollout (one parent workflow). */
export async function deployFleet(opts: {
  fleet: string;
  dir: string;
  as?: string;
  approvalExpiry?: string;
  json?: boolean;
  key?: string;
  validFor?: string;
}): Promise<number> {
  const plan = await storePlanForWorkflow(opts.dir);
  const initiator = resolveInitiator(opts.as);
  const workflowId = fleetWorkflowId(opts.fleet);
  let input: FleetDeployInput = {
    fleet: opts.fleet,
    plan,
    initiator,
    ...(opts.approvalExpiry ? { options: { approvalExpiry: opts.approvalExpiry } } : {}),
  };
  return withTemporal(async (client) => {
    // `--key`: the initiator signs the start (`initiate-deploy`, `run-id: none`).
    if (opts.key)
      input = {
        ...input,
        ...(await signDecision(
          {
            namespace: client.options.namespace,
            environment: fleetStatementEnvironment(opts.fleet),
            workflowId,
            runId: null,
            planChecksum: plan.checksum,
          },
          'initiate-deploy',
          initiator,
          '',
          { key: opts.key, validFor: opts.validFor },
        )),
      };
    let handle: WorkflowHandle;
    try {
      handle = await client.workflow.start(FLEET_WORKFLOW_TYPE, {
        taskQueue: taskQueueFromEnv(),
        workflowId,
        args: [input],
        typedSearchAttributes: runAttributePairs({
          environment: `fleet:${opts.fleet}`,
          kind: FLEET_WORKFLOW_TYPE,
          phase: 'starting',
          initiator,
          planChecksum: plan.checksum,
        }),
        staticSummary: `Fleet rollout of ${opts.fleet}: plan ${plan.checksum.slice(0, 12)}`,
        staticDetails: `Started by **${initiator}**. One approval for the fleet → waves → one child per database (backup, migrate, verify, monitor). Resume: \`pgshift fleet resume ${opts.fleet}\`; reverse: \`pgshift rollback --fleet ${opts.fleet}\`.`,
      });
    } catch (error) {
      if (isTemporalError(error, 'WorkflowExecutionAlreadyStartedError'))
        throw new UsageError(
          `a rollout of fleet ${opts.fleet} is already running (${workflowId}): see it with \`pgshift fleet status ${opts.fleet}\`, resume it with \`pgshift fleet resume ${opts.fleet}\``,
        );
      throw error;
    }
    const approvals = await waitForRequiredApprovals(handle, 20_000);
    emit(opts, { workflowId, link: webUiLink(workflowId), planChecksum: plan.checksum }, () =>
      [
        `Started fleet rollout ${workflowId} (fleet ${opts.fleet}, plan ${plan.checksum.slice(0, 12)})`,
        `Web UI: ${webUiLink(workflowId)}`,
        ...approvalLines(workflowId, plan.checksum, approvals),
        `Follow it with: pgshift fleet status ${opts.fleet}`,
      ].join('\n'),
    );
    return 0;
  });
}

/** `pgshift rollback --fleet <name>` and `pgshift fleet resume <name>`. */
export async function sendDecision(
  fleet: string,
  kind: 'resume' | 'rollback',
  opts: FleetDecisionOptions,
): Promise<number> {
  const by = resolveInitiator(opts.as);
  const signal = kind === 'resume' ? resumeFleetSignal : rollbackFleetSignal;
  return withTemporal(async (client) => {
    const workflowId = fleetWorkflowId(fleet);
    const reason = opts.reason?.trim() ?? '';
    const prepared = await prepareSignedDecision(
      client,
      workflowId,
      { action: `fleet-${kind}`, person: by, reason },
      opts,
    );
    if (prepared.printed) return 0;
    const handle =
      client.workflow.getHandle<(input: FleetDeployInput) => Promise<FleetDeployResult>>(
        workflowId,
      );
    await handle.signal(signal, {
      kind,
      by,
      ...(reason ? { reason } : {}),
      ...prepared.signed,
    });
    const overview = await handle.query(fleetOverviewQuery);
    emit(opts, overview, (o) =>
      [
        `${kind === 'resume' ? 'Resume' : 'Rollback'} of fleet ${fleet} sent as ${by} (refused unless ${by} is on the fleet's approvals roster; see the decisions below).`,
        ...formatOverview(o),
      ].join('\n'),
    );
    return 0;
  });
}

export function formatOverview(o: FleetOverview): string[] {
  return [
    `Fleet ${o.fleet}: ${o.stage}, wave ${o.wave} of ${o.waves.length}; failures ${o.failures} of ${o.allowance} allowed`,
    ...o.waves.map(
      (w) =>
        `  wave ${w.wave} (${w.size}): ${
          Object.entries(w.counts)
            .map(([status, n]) => `${n} ${status}`)
            .join(', ') || 'none'
        }`,
    ),
    ...(o.failed.length
      ? [
          'Failed databases:',
          ...o.failed.map((f) => `  ${f.environment} (${f.status}): ${f.reason}`),
        ]
      : []),
    ...(o.decisions.length
      ? [
          'Decisions:',
          ...o.decisions.map(
            (d) =>
              `  ${d.at ?? ''} ${d.kind} by ${d.by}${d.refused ? ` REFUSED: ${d.refused}` : ''}`,
          ),
        ]
      : []),
  ];
}

/** `pgshift fleet status <fleet>`: per-wave counts and failed databases. */
export async function showFleet(name: string, opts: GlobalOptions): Promise<void> {
  const overview = await withTemporal((client) =>
    client.workflow.getHandle(fleetWorkflowId(name)).query(fleetOverviewQuery),
  );
  emit(opts, overview, (o) => formatOverview(o).join('\n'));
}
