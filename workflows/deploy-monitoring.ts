import { condition, patched, setCurrentDetails } from '@temporalio/workflow';
import {
  evaluateThresholds,
  type Baseline,
  type Breach,
  type Thresholds,
  type ThresholdHistory,
} from '../src/verify/thresholds';
import { probes } from './activity-proxies';
import type { EnvironmentPolicy } from '../activities/policy';
import { formatMs } from './deploy-options';
import type { ProgressTracker } from './progress-tracker';

/** Patch: a latency-only breach is confirmed by a second sample taken at once. */
export const CONFIRM_LATENCY_PATCH = 'confirm-latency-breach';

/** A threshold crossed by one sample. */
export type SampledBreach = Breach & { at: string };

export interface MonitoringOutcome {
  /** The first threshold crossed (most severe first), if any. */
  breach?: Breach;
  /** Every threshold crossed, sample by sample (`whole-window`: the whole window's). */
  breaches: SampledBreach[];
  /** The window was cut short by a cancelDeploy signal. */
  stopped?: boolean;
  samples: number;
  /** One line for the step and the report. */
  detail: string;
}

/**
 * The monitoring window after a deploy or a rollback: a sample of health, latency, error rate
 * and database connections every `intervalMs` for `windowMs`, each judged by the pure
 * `evaluateThresholds` against the baseline measured before the change.
 * - `until-first-breach` (the deploy): returns at the first breach; the last sample is taken
 *   at the end of the window.
 * - `whole-window` (the emergency rollback's watch): collects every breach; samples every
 *   `intervalMs` while a whole interval still fits in the window.
 */
/**
 * The deploy's monitoring step: the window and interval of the run's overrides, else of the
 * environment's policy; the same tables the baseline read (those of the plan that existed
 * before it). Returns the window's outcome (a breach is the caller's rollback trigger).
 */
export async function monitorDeployStep(
  run: { environment: string; tracker: ProgressTracker },
  baseline: Baseline,
  policy: Pick<EnvironmentPolicy, 'thresholds' | 'monitoringWindowMs' | 'monitoringIntervalMs'>,
  overrides: { monitoringWindow?: number; monitoringInterval?: number },
  stop: () => boolean,
): Promise<MonitoringOutcome & { windowMs: number }> {
  const { environment, tracker } = run;
  const windowMs = overrides.monitoringWindow ?? policy.monitoringWindowMs;
  const intervalMs = overrides.monitoringInterval ?? policy.monitoringIntervalMs;
  tracker.start(
    'monitor',
    `watching ${environment} for ${formatMs(windowMs)}, a sample every ${formatMs(intervalMs)}`,
  );
  const tables = baseline.probeTables;
  const { thresholds } = policy;
  const outcome = await monitorDeployment({
    environment,
    tables,
    baseline,
    thresholds,
    windowMs,
    intervalMs,
    tracker,
    stop,
  });
  return { ...outcome, windowMs };
}

export async function monitorDeployment(args: {
  environment: string;
  /** Tables the plan touches: every sample reads them (a held lock shows as latency). */
  tables?: string[];
  baseline: Baseline;
  thresholds: Thresholds;
  windowMs: number;
  intervalMs: number;
  tracker: ProgressTracker;
  stop: () => boolean;
  mode?: 'until-first-breach' | 'whole-window';
}): Promise<MonitoringOutcome> {
  const { environment, baseline, thresholds, tracker } = args;
  const wholeWindow = args.mode === 'whole-window';
  const endsAt = Date.now() + args.windowMs;
  let history: ThresholdHistory = { consecutiveHealthFailures: 0 };
  let samples = 0;
  let last = '';
  const breaches: SampledBreach[] = [];
  for (;;) {
    const sample = await probes.sampleMetrics.executeWithOptions(
      { summary: `monitor ${environment}: sample ${samples + 1}` },
      [{ environment, ...(args.tables ? { tables: args.tables } : {}) }],
    );
    samples++;
    let evaluation = evaluateThresholds(baseline, sample, thresholds, history);
    if (
      !wholeWindow &&
      evaluation.breached.length > 0 &&
      evaluation.breached.every((b) => b.trigger === 'performance-degradation') &&
      patched(CONFIRM_LATENCY_PATCH)
    ) {
      // One slow answer on a busy host is not a degradation: measure again at once, and count
      // it only when the second sample is slow too (or breaches something else).
      const again = await probes.sampleMetrics.executeWithOptions(
        { summary: `monitor ${environment}: confirm sample ${samples}` },
        [{ environment, ...(args.tables ? { tables: args.tables } : {}) }],
      );
      evaluation = evaluateThresholds(baseline, again, thresholds, evaluation.history);
    }
    history = evaluation.history;
    last = describeSample(sample);
    for (const breach of evaluation.breached) breaches.push({ at: sample.at, ...breach });
    if (evaluation.breached.length && !wholeWindow) {
      const breach = [...evaluation.breached].sort(
        (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity],
      )[0];
      return { breach, breaches, samples, detail: `sample ${samples}: ${breach.detail}` };
    }
    const remaining = endsAt - Date.now();
    if (wholeWindow ? remaining < args.intervalMs : remaining <= 0) break;
    showDetails(
      tracker,
      `monitoring ${environment}: ${samples} sample(s) within thresholds, ${Math.ceil(remaining / 1000)} s left; last: ${last}${
        history.consecutiveHealthFailures
          ? ` (${history.consecutiveHealthFailures} failed check(s) in a row)`
          : ''
      }`,
    );
    if (await condition(args.stop, Math.max(1, Math.min(args.intervalMs, remaining))))
      return { stopped: true, breaches, samples, detail: `stopped after ${samples} sample(s)` };
  }
  return {
    breaches,
    samples,
    detail: breaches.length
      ? `${samples} sample(s), ${breaches.length} breach(es): ${breaches
          .map((b) => b.detail)
          .slice(0, 3)
          .join('; ')}`
      : `${samples} sample(s) within thresholds; last: ${last}`,
  };
}

/**
 * Changes the Web UI's current details and the progress query without upserting the phase
 * search attribute again (one command per sample would bloat long windows' histories).
 */
export function showDetails(tracker: ProgressTracker, details: string): void {
  tracker.progress.currentDetails = details;
  setCurrentDetails(tracker.markdown());
}

const SEVERITY_ORDER: Record<Breach['severity'], number> = { immediate: 0, P1: 1, P2: 2 };

function describeSample(sample: {
  healthOk: boolean;
  dbOk: boolean;
  healthLatencyMs: number | null;
  probeLatencyMs: number | null;
  dbConnectionsPercent: number | null;
}): string {
  const parts = [
    sample.healthOk ? 'health ok' : 'health FAILING',
    sample.dbOk ? 'database ok' : 'database FAILING',
  ];
  if (sample.healthLatencyMs !== null)
    parts.push(`health ${Math.round(sample.healthLatencyMs)} ms`);
  if (sample.probeLatencyMs !== null) parts.push(`probe ${sample.probeLatencyMs.toFixed(1)} ms`);
  if (sample.dbConnectionsPercent !== null)
    parts.push(`connections ${sample.dbConnectionsPercent.toFixed(0)}%`);
  return parts.join(', ');
}
