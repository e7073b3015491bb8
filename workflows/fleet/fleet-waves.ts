import { condition, executeChild, ParentClosePolicy } from '@temporalio/workflow';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftWorkflowKind,
} from '../../src/temporal/search-attribute-keys';
import { formatMs } from '../deploy-options';
import { describeFailure } from '../failures';
import { fleetDatabaseDeploy } from './database-deploy';
import {
  FLEET_DATABASE_WORKFLOW_TYPE,
  fleetChildWorkflowId,
  type FleetDatabase,
  type FleetMode,
} from './definitions';
import { waveRange } from './fleet-progress';
import type { FleetRun } from './fleet-run';

/** Runs the children of one wave, `concurrency` at a time. Returns false to continue as new. */
export async function runWave(run: FleetRun, wave: number, mode: FleetMode): Promise<boolean> {
  const s = run.state;
  const [start, end] = waveRange(s.settings.waves, wave);
  const eligible: number[] = [];
  for (let i = start; i < end; i++)
    if (s.databases[i].status === (mode === 'deploy' ? 'pending' : 'deployed')) eligible.push(i);
  if (mode === 'rollback') eligible.reverse();
  const overBudget = () => mode === 'deploy' && s.failures > s.settings.allowance;
  let stopped = false;
  for (const i of eligible) {
    await condition(() => run.running < s.settings.concurrency);
    if (overBudget()) break;
    if (run.timeToContinue()) {
      stopped = true;
      break;
    }
    run.childStarted();
    void runDatabase(run, s.databases[i], mode).finally(() => {
      run.running--;
      run.progress.show(`${mode === 'deploy' ? 'rolling out' : 'rolling back'} wave ${wave + 1}`);
    });
  }
  await condition(() => run.running === 0);
  return !stopped;
}

/** One database's child workflow; its outcome is written into the database's state. */
async function runDatabase(run: FleetRun, db: FleetDatabase, mode: FleetMode): Promise<void> {
  const { fleet, plan, initiator } = run.input;
  const { settings } = run.state;
  db.status = 'running';
  db.attempts++;
  const workflowId = fleetChildWorkflowId(run.workflowId, db.environment, mode, db.attempts);
  try {
    const result = await executeChild(fleetDatabaseDeploy, {
      workflowId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: PgshiftEnvironment, value: db.environment },
        { key: PgshiftWorkflowKind, value: FLEET_DATABASE_WORKFLOW_TYPE },
        { key: PgshiftInitiator, value: initiator },
      ],
      staticSummary: `Fleet ${fleet}: ${mode} of ${db.environment}, plan ${plan.checksum.slice(0, 12)}`,
      args: [
        {
          fleet,
          environment: db.environment,
          plan,
          initiator,
          mode,
          ...(mode === 'rollback'
            ? {
                targetVersion: db.fromVersion ?? 0,
                ...(db.backupId ? { backupId: db.backupId } : {}),
              }
            : {}),
          ...(settings.monitoringWindow ? { monitoringWindow: settings.monitoringWindow } : {}),
          ...(settings.monitoringInterval
            ? { monitoringInterval: settings.monitoringInterval }
            : {}),
        },
      ],
    });
    if (mode === 'deploy') {
      db.fromVersion = result.fromVersion;
      if (result.backupId) db.backupId = result.backupId;
      else delete db.backupId;
    }
    db.status =
      result.outcome === 'deployed' || result.outcome === 'rolled-back'
        ? result.outcome
        : mode === 'rollback'
          ? 'rollback-failed'
          : result.outcome;
    if (db.status === 'deployed' || db.status === 'rolled-back') delete db.reason;
    else db.reason = result.reason.slice(0, 300);
  } catch (error) {
    db.status = mode === 'deploy' ? 'failed' : 'rollback-failed';
    db.reason = describeFailure(error).message.slice(0, 300);
  }
  if (mode === 'deploy' && db.status !== 'deployed') run.state.failures++;
}

/** Between two waves: a pause, an approval, or nothing, as configured. */
export async function openWave(run: FleetRun): Promise<'go' | 'rollback'> {
  const s = run.state;
  const between = s.settings.betweenWaves;
  if (between === 'continue' && !run.hasRequests) return 'go';
  run.setStage(
    'between-waves',
    `wave ${s.wave} done; ${typeof between === 'number' ? `pausing ${formatMs(between)} before wave ${s.wave + 1}` : `waiting for \`pgshift fleet resume ${run.fleet}\` to start wave ${s.wave + 1}`}`,
  );
  if (typeof between === 'number' && !(await condition(() => run.hasRequests, between)))
    return 'go';
  const request = await run.nextRequest(['resume', 'rollback']);
  return request.kind === 'rollback' ? 'rollback' : 'go';
}
