import { isCancellation } from '@temporalio/workflow';
import type { Baseline } from '../../src/verify/thresholds';
import { quick } from '../activity-proxies';
import { monitorDeployment } from '../deploy-monitoring';
import { failedChecks } from '../text';
import type { RollbackRun } from './run';

/** No pre-rollback baseline: the watch judges errors, response time, connections and failures. */
const NO_BASELINE: Baseline = {
  healthLatencyMs: null,
  healthLatencyByName: {},
  probeLatencyMs: null,
  at: '',
};

/** SELECT 1, row counts, SQL checks and health checks; false (and the reason) when one fails. */
export async function verifySystem(run: RollbackRun): Promise<boolean> {
  const { environment, tracker, incident } = run;
  tracker.start(
    'verify system',
    `SELECT 1, row counts, SQL checks and health checks on ${environment}`,
  );
  const report = await quick.verifyEnvironment.executeWithOptions(
    { summary: `verify ${environment} after the rollback` },
    [{ environment }],
  );
  incident.learn({
    verification: {
      ok: report.ok,
      checks: report.checks.map((c) => ({ name: c.name, ok: c.ok, detail: c.detail })),
    },
  });
  const summary = report.checks.map((c) => `${c.ok ? '✓' : '✗'} ${c.name}`).join(', ');
  if (!report.ok) {
    tracker.fail('verify system', summary);
    incident.note(`verification FAILED: ${summary}`);
    incident.conclude('failed', `rolled back, but verification failed: ${failedChecks(report)}`);
    return false;
  }
  tracker.complete('verify system', summary);
  incident.note(`system verified: ${summary}`);
  return true;
}

/**
 * The guide's post-rollback watch, through the deploy's monitor over the whole window: every
 * breach is recorded and notified, none stops the watch. A cancellation ends the watch; the
 * run finishes and rethrows it.
 */
export async function watchThresholds(run: RollbackRun): Promise<void> {
  const { environment, tracker, incident } = run;
  const { windowMs, intervalMs } = run.watch;
  tracker.start(
    'watch thresholds',
    `watching error rate, response time and connections for ${windowMs / 1000} s`,
  );
  const watch = {
    windowMs,
    intervalMs,
    samples: 0,
    breaches: [] as { at: string; trigger: string; severity: string; detail: string }[],
  };
  let detail: string;
  try {
    const outcome = await monitorDeployment({
      environment,
      baseline: NO_BASELINE,
      thresholds: run.policy.thresholds,
      windowMs,
      intervalMs,
      tracker,
      stop: () => false,
      mode: 'whole-window',
    });
    watch.samples = outcome.samples;
    watch.breaches = outcome.breaches;
    detail = outcome.detail;
  } catch (error) {
    if (!isCancellation(error)) throw error;
    incident.absorbCancellation(error);
    incident.learn({ watch: { ...watch, skipped: 'watch cancelled' } });
    tracker.complete('watch thresholds', 'watch cancelled');
    incident.note('threshold watch: cancelled');
    return;
  }
  incident.learn({ watch });
  if (watch.breaches.length) {
    tracker.fail('watch thresholds', detail);
    incident.note(`threshold watch: ${detail}`);
    await run.notify(
      `Thresholds breached after the rollback on ${environment}`,
      detail,
      'critical',
    );
    if (incident.finalState === 'completed')
      incident.conclude(
        'completed',
        `rolled back; NEEDS ATTENTION: ${watch.breaches.length} threshold breach(es) while watching`,
      );
  } else {
    tracker.complete('watch thresholds', detail);
    incident.note(`threshold watch: ${detail}`);
  }
}
