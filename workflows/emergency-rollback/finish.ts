import { CancellationScope, patched } from '@temporalio/workflow';
import type { EmergencyPolicy } from '../../activities/impact';
import type { DeploymentRecord } from '../../src/records/deployments';
import { quick } from '../activity-proxies';
import { finishRun, skipPendingSteps, writeRunReport } from '../steps/finish-run';
import { recordRun } from '../steps/record';
import type { EmergencyRollbackResult } from '../definitions';
import { GUIDE_LABEL } from '../incident-report';
import { FINISHING_STEPS } from './choose';
import { startArchive } from './restore';
import type { RollbackContext } from './run';

/**
 * Patch: the incident document is written once, after every step (post-mortem and archive
 * included) has ended, and the closing notifications follow it; histories without it wrote
 * it before the post-mortem and again at the very end.
 */
export const INCIDENT_DOCUMENT_ONCE_PATCH = 'incident-document-written-once';

/**
 * The end of every rollback, cancelled or not: skip what was not reached, record the rollback,
 * schedule the post-mortem, start the archive of a kept database, write the incident document,
 * tell everyone, then rethrow a cancellation the run absorbed.
 */
export function finishRollback(
  run: RollbackContext,
  policy: EmergencyPolicy | undefined,
  deploy: DeploymentRecord | undefined,
): Promise<EmergencyRollbackResult> {
  return CancellationScope.nonCancellable(async () => {
    const { tracker, incident } = run;
    run.approval.close(`the rollback has ended (${incident.finalState})`);
    skipPendingSteps(
      tracker,
      incident.finalState === 'completed' ? 'not needed' : `not reached (${incident.finalState})`,
      FINISHING_STEPS,
    );
    await recordRollback(run, deploy);
    if (incident.executed && policy)
      incident.schedulePostMortem(Date.now() + policy.postMortemDueInMs);
    const result = patched(INCIDENT_DOCUMENT_ONCE_PATCH)
      ? await documentOnce(run)
      : await documentTwice(run);
    const { type, finalState, reason } = describe(run);
    await finishRun(tracker, {
      finalState,
      detail: `${GUIDE_LABEL[type]} ${finalState}${reason ? `: ${reason}` : ''} — ${result.timing}`,
      rethrow: incident.cancelled,
    });
    return result;
  });
}

/** Every step ends, then the document is written, then the notifications name it. */
async function documentOnce(run: RollbackContext): Promise<EmergencyRollbackResult> {
  const { tracker, incident } = run;
  const due = incident.postMortem;
  if (due) {
    tracker.start('post-mortem', `scheduling the post-mortem, due ${due}`);
    tracker.complete('post-mortem', `due ${due}`);
  } else skipIfListed(run, 'post-mortem', 'nothing was rolled back');
  await startArchive(run);
  tracker.start('incident document', 'writing the incident document');
  incident.end();
  tracker.complete('incident document', `incident document of ${run.incidentId}`);
  const written = await writeDocument(run, false);
  if (due) await notifyPostMortem(run, due, written.incidentPath);
  await notifyOutcome(run, written.incidentPath);
  return written;
}

/** Before INCIDENT_DOCUMENT_ONCE_PATCH: the document, the post-mortem, the archive, the document again. */
async function documentTwice(run: RollbackContext): Promise<EmergencyRollbackResult> {
  const { tracker, incident } = run;
  const due = incident.postMortem;
  tracker.start('incident document', 'writing the incident document');
  incident.end();
  const first = await writeDocument(run, true);
  if (due) {
    tracker.start('post-mortem', `scheduling the post-mortem, due ${due}`);
    await notifyPostMortem(run, due, first.incidentPath);
    tracker.complete('post-mortem', `due ${due}`);
  } else skipIfListed(run, 'post-mortem', 'nothing was rolled back');
  await notifyOutcome(run, first.incidentPath);
  await startArchive(run);
  const markdown = incident.document(tracker.progress.steps, run.approval.facts());
  const result = incident.result(tracker.progress.steps, run.approval.facts(), {
    ...(first.incidentPath ? { incidentPath: first.incidentPath } : {}),
    incidentMarkdown: markdown,
  });
  if (first.incidentPath)
    await quick.writeReport
      .executeWithOptions({ summary: `complete incident document ${run.incidentId}` }, [
        { workflowId: run.incidentId, kind: 'incident', markdown, data: result },
      ])
      .catch(() => undefined);
  return result;
}

/** Writes the document with the result beside it; `first` marks the older two-write order. */
async function writeDocument(
  run: RollbackContext,
  first: boolean,
): Promise<EmergencyRollbackResult> {
  const { tracker, incident } = run;
  const markdown = incident.document(tracker.progress.steps, run.approval.facts());
  const data = incident.result(tracker.progress.steps, run.approval.facts(), {
    ...(first ? {} : { incidentMarkdown: markdown }),
  });
  const incidentPath = await writeRunReport(tracker, 'incident document', {
    workflowId: run.incidentId,
    kind: 'incident',
    summary: `write incident document ${run.incidentId}`,
    markdown,
    data,
  });
  return incidentPath ? { ...data, incidentPath } : data;
}

/** The rollback in pgshift.deployments; the deploy it undid is marked rolled back. */
async function recordRollback(
  run: RollbackContext,
  deploy: DeploymentRecord | undefined,
): Promise<void> {
  const { tracker, incident, environment, incidentId } = run;
  if (!incident.executed) {
    skipIfListed(run, 'record', 'nothing changed');
    return;
  }
  tracker.start('record', `recording the rollback in ${environment}'s pgshift.deployments`);
  const { type, finalState, reason } = describe(run);
  const f = incident.facts;
  const markDeploy = type === 'full-emergency' && deploy && incident.changed;
  const problem =
    (await recordRun(
      environment,
      {
        workflowId: incidentId,
        kind: 'rollback',
        ...(f.fromVersion !== undefined ? { fromVersion: f.fromVersion } : {}),
        ...(f.toVersion !== undefined ? { toVersion: f.toVersion } : {}),
        ...(f.emergencyBackupId ? { backupId: f.emergencyBackupId } : {}),
        ...(f.app?.before ? { appVersionBefore: f.app.before } : {}),
        ...(f.app?.after ? { appVersionAfter: f.app.after } : {}),
        status: finalState,
        reason: `${GUIDE_LABEL[type]} by ${run.initiator}${reason ? `: ${reason}` : ''}`,
      },
      `record rollback ${incidentId}`,
    )) ??
    (markDeploy && finalState === 'completed'
      ? await recordRun(
          environment,
          {
            ...deploy,
            status: 'rolled-back',
            reason: `rolled back by emergency rollback ${incidentId}`,
          },
          `mark deploy ${deploy.workflowId} rolled back`,
        )
      : undefined);
  if (problem) tracker.fail('record', problem);
  else
    tracker.complete(
      'record',
      `rollback ${incidentId} recorded${markDeploy ? `; deploy ${deploy.workflowId} marked rolled-back` : ''}`,
    );
}

function notifyPostMortem(run: RollbackContext, due: string, incidentPath?: string) {
  const { type, finalState, reason } = describe(run);
  return run.notify(
    `Post-mortem due ${due.slice(0, 16).replace('T', ' ')}Z: emergency rollback on ${run.environment}`,
    `${GUIDE_LABEL[type]} rollback ${finalState}${reason ? `: ${reason}` : ''}. ${run.incident.timing(run.approval.facts())}.`,
    'info',
    { Due: due, ...(incidentPath ? { 'Incident document': incidentPath } : {}) },
  );
}

async function notifyOutcome(run: RollbackContext, incidentPath?: string): Promise<void> {
  const { type, finalState, reason } = describe(run);
  if (type === 'none') return;
  await run.notify(
    `Emergency rollback ${finalState} on ${run.environment}`,
    `${GUIDE_LABEL[type]}: ${reason ?? 'completed'}. ${run.incident.timing(run.approval.facts())}.`,
    finalState === 'completed' && !run.incident.facts.watch?.breaches.length
      ? 'success'
      : 'critical',
    incidentPath ? { 'Incident document': incidentPath } : {},
  );
}

function skipIfListed(run: RollbackContext, step: string, reason: string): void {
  if (run.tracker.progress.steps.some((s) => s.name === step)) run.tracker.skip(step, reason);
}

function describe(run: RollbackContext) {
  const { type } = run.incident.header;
  return { type, finalState: run.incident.finalState, reason: run.incident.reason };
}
