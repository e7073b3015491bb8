import { setCurrentDetails, setHandler } from '@temporalio/workflow';
import { progressQuery, type Progress, type Step } from '../definitions';
import type { DatabaseStatus, FleetCarried, FleetOverview, FleetWaveCounts } from './definitions';

/** The members of wave `wave` (0-based): [start, end) over the fleet in order. */
export function waveRange(ends: number[], wave: number): [number, number] {
  return [wave === 0 ? 0 : ends[wave - 1], ends[wave]];
}

const MAX_LISTED_FAILURES = 100;
const FAILED: DatabaseStatus[] = ['failed', 'needs-attention', 'rollback-failed'];
const ORDER: DatabaseStatus[] = [
  'deployed',
  'running',
  'pending',
  'failed',
  'needs-attention',
  'rolled-back',
  'rollback-failed',
];

/**
 * What people see of a fleet rollout: the `progress` query (one step per wave, so
 * `pgshift status fleet-<name>` shows per-wave counts), the `fleetOverview` query, and the
 * Web UI's current details (stage, a table of waves, the failed databases with reasons).
 */
export class FleetProgress {
  private details = '';

  constructor(
    private readonly fleet: string,
    private readonly state: () => FleetCarried | undefined,
  ) {
    setHandler(progressQuery, () => this.progress());
  }

  waves(): FleetWaveCounts[] {
    const s = this.state();
    if (!s) return [];
    return s.settings.waves.map((_, wave) => {
      const [start, end] = waveRange(s.settings.waves, wave);
      const counts: FleetWaveCounts['counts'] = {};
      for (let i = start; i < end; i++) {
        const status = s.databases[i].status;
        counts[status] = (counts[status] ?? 0) + 1;
      }
      return { wave: wave + 1, size: end - start, counts };
    });
  }

  failed(): FleetOverview['failed'] {
    const s = this.state();
    if (!s) return [];
    return s.databases
      .filter((db) => FAILED.includes(db.status))
      .slice(0, MAX_LISTED_FAILURES)
      .map((db) => ({ environment: db.environment, status: db.status, reason: db.reason ?? '' }));
  }

  overview(): FleetOverview {
    const s = this.state();
    return {
      fleet: this.fleet,
      stage: s?.stage ?? 'approving',
      wave: (s?.wave ?? 0) + 1,
      waves: this.waves(),
      failures: s?.failures ?? 0,
      allowance: s?.settings.allowance ?? 0,
      failed: this.failed(),
      decisions: s?.decisions ?? [],
    };
  }

  summary(): { waves: FleetWaveCounts[]; failed: FleetOverview['failed'] } {
    return { waves: this.waves(), failed: this.failed() };
  }

  /** `rolled out: 19 deployed, 1 failed (tenant-07)`. */
  outcome(verb: string): string {
    const totals: Partial<Record<DatabaseStatus, number>> = {};
    for (const wave of this.waves())
      for (const [status, n] of Object.entries(wave.counts))
        totals[status as DatabaseStatus] = (totals[status as DatabaseStatus] ?? 0) + (n ?? 0);
    const failed = this.failed().map((f) => f.environment);
    return `${verb}: ${formatCounts(totals)}${failed.length ? ` (failed: ${failed.slice(0, 10).join(', ')}${failed.length > 10 ? ', …' : ''})` : ''}`;
  }

  show(details: string): void {
    this.details = details;
    setCurrentDetails(this.markdown());
  }

  markdown(): string {
    const s = this.state();
    const rows = this.waves().map(
      (w) =>
        `| ${w.wave}${s && s.wave + 1 === w.wave ? ' ◀' : ''} | ${w.size} | ${formatCounts(w.counts)} |`,
    );
    const failed = this.failed().map((f) => `- **${f.environment}** (${f.status}): ${f.reason}`);
    return [
      `**${s?.stage ?? 'starting'}** — ${this.details}`,
      '',
      ...(rows.length ? ['| wave | databases | state |', '|---|---|---|', ...rows] : []),
      ...(s ? ['', `Failures ${s.failures} of ${s.settings.allowance} allowed.`] : []),
      ...(failed.length ? ['', 'Failed databases:', ...failed] : []),
    ].join('\n');
  }

  private progress(): Progress {
    const s = this.state();
    const steps: Step[] = this.waves().map((w) => ({
      name: `wave ${w.wave} (${w.size} database${w.size === 1 ? '' : 's'})`,
      status: waveStatus(w),
      detail: formatCounts(w.counts),
    }));
    const failed = this.failed();
    return {
      workflowKind: 'fleetDeploy' as Progress['workflowKind'],
      environment: `fleet ${this.fleet}`,
      phase: s?.stage ?? 'starting',
      steps,
      currentDetails: `${this.details}${failed.length ? `; failed: ${failed.map((f) => `${f.environment} (${f.reason})`).join('; ')}` : ''}`,
    };
  }
}

function waveStatus(w: FleetWaveCounts): Step['status'] {
  const c = w.counts;
  if (c.running) return 'running';
  if (c.failed || c['needs-attention'] || c['rollback-failed']) return 'failed';
  if (c['rolled-back'] === w.size) return 'compensated';
  if (c.pending === w.size) return 'pending';
  return c.pending ? 'running' : 'completed';
}

function formatCounts(counts: Partial<Record<DatabaseStatus, number>>): string {
  return (
    ORDER.filter((status) => counts[status])
      .map((status) => `${counts[status]} ${status}`)
      .join(', ') || 'none'
  );
}
