import type { RunListRow, RunView } from './run-inspect';
import { formatStep } from './workflow-runs';

/** `4.2s`, `3m 12s`, `2h 05m`, `1d 3h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  const m = Math.floor(s / 60);
  const h = Math.floor(m / 60);
  const d = Math.floor(h / 24);
  if (d > 0) return `${d}d ${h % 24}h`;
  if (h > 0) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${m}m ${String(s % 60).padStart(2, '0')}s`;
}

const time = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/** The run's headline: `deploy-production-… productionDeploy on production: RUNNING (phase approvals)`. */
function headline(view: RunView): string {
  const what = view.kind ?? view.workflowType;
  const where = view.environment ? ` on ${view.environment}` : '';
  const outcome = view.finalState ? ` → ${view.finalState}` : '';
  const phase = view.status === 'RUNNING' && view.phase ? ` (phase ${view.phase})` : '';
  return `${view.workflowId}  ${what}${where}: ${view.status}${outcome}${phase}`;
}

/** The current details' first paragraph (the ProgressTracker puts the step list after it). */
function detailsHeadline(details: string): string {
  return details.split('\n\n')[0].replace(/\*\*/g, '').trim();
}

/** The lines of `pgshift status` (and of each `watch` frame). */
export function formatRunView(view: RunView): string[] {
  const lines = [headline(view)];
  if (view.summary) lines.push(`  ${view.summary}`);
  const by = view.initiator ? ` by ${view.initiator}` : '';
  lines.push(
    view.closedAt
      ? `  started ${time(view.startedAt)}${by}, ended ${time(view.closedAt)} after ${formatDuration(view.durationMs)}`
      : `  started ${time(view.startedAt)}${by}, running for ${formatDuration(view.durationMs)}`,
  );
  if (view.planChecksum) lines.push(`  plan ${view.planChecksum.slice(0, 12)}`);
  lines.push(`  Web UI: ${view.link}`);
  if (view.status === 'RUNNING' && view.currentDetails)
    lines.push(`  now: ${detailsHeadline(view.currentDetails)}`);
  if (view.note) lines.push(`  note: ${view.note}`);

  if (view.steps.length) {
    lines.push('Steps:');
    for (const step of view.steps) lines.push(`  ${formatStep(step)}`);
  }
  for (const activity of view.pendingActivities) {
    const attempt = activity.attempt > 1 ? `, attempt ${activity.attempt}` : '';
    const failure = activity.lastFailure ? ` — last failure: ${activity.lastFailure}` : '';
    lines.push(
      `Running: ${activity.activityType}${activity.progress ? ` ${activity.progress}` : ''} [${activity.state.toLowerCase()}${attempt}]${failure}`,
    );
  }
  if (view.approvals) lines.push(...formatApprovals(view.approvals));
  if (view.fromVersion !== undefined || view.toVersion !== undefined)
    lines.push(`Migrations: version ${view.fromVersion ?? '?'} → ${view.toVersion ?? '?'}`);
  if (view.backupId) lines.push(`Backup: ${view.backupId}`);
  if (view.status !== 'RUNNING') {
    if (view.failure) lines.push(`Result: ${view.status} — ${view.failure}`);
    else
      lines.push(
        `Result: ${(view.finalState ?? view.status).toUpperCase()}${view.reason ? ` — ${view.reason}` : ''}`,
      );
    const reportPath = view.result?.reportPath;
    if (typeof reportPath === 'string') lines.push(`Report: ${reportPath}`);
  }
  return lines;
}

function formatApprovals(approvals: NonNullable<RunView['approvals']>): string[] {
  const lines = [
    `Approvals: ${approvals.granted.length} of ${approvals.required.length}` +
      (approvals.missing.length ? `, missing ${approvals.missing.join(', ')}` : ', complete') +
      (approvals.expiresAt ? ` (expires ${time(approvals.expiresAt)})` : ''),
  ];
  for (const grant of approvals.granted)
    lines.push(
      `  ✓ ${grant.role} by ${grant.approver} at ${time(grant.at)}${grant.comment ? ` — ${grant.comment}` : ''}`,
    );
  for (const refused of approvals.refused)
    lines.push(`  ✗ refused ${refused.summary}: ${refused.reason}`);
  if (approvals.rejected)
    lines.push(`  ✗ rejected by ${approvals.rejected.approver}: ${approvals.rejected.reason}`);
  return lines;
}

/** `pgshift list`: one line per run, newest first. */
export function formatRunList(rows: RunListRow[]): string {
  if (rows.length === 0) return 'no pgshift runs match';
  const table = rows.map((row) => [
    row.workflowId,
    row.kind ?? row.workflowType,
    row.environment ?? '-',
    row.status,
    row.phase ?? '-',
    time(row.startedAt),
    formatDuration(row.durationMs),
  ]);
  const header = ['WORKFLOW ID', 'KIND', 'ENV', 'STATUS', 'PHASE', 'STARTED', 'DURATION'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...table.map(line)].join('\n');
}
