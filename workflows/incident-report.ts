/**
 * The incident document of an emergency rollback, in Markdown. Pure (no I/O, no clock):
 * the workflow passes every fact, including the times, and writes the text with an activity.
 */
import { describeLoss } from '../src/rollback/describe-loss';
import type {
  ApprovalState,
  RollbackDecision,
  RollbackImpactSummary,
  RollbackWatch,
  Step,
} from './definitions';
import { formatSeconds, formatVersion } from '../src/format';
import { GUIDE_LABEL, rollbackLabel } from './decision-matrix';
import { escapeCell } from './text';

export interface TimelineEvent {
  at: string;
  text: string;
}

export interface IncidentFacts {
  incidentId: string;
  workflowId: string;
  environment: string;
  initiator: string;
  /** What was done: migration, application, full-emergency, none. */
  type: string;
  finalState: string;
  reason?: string;
  decision?: RollbackDecision;
  /** `operator` when a flag chose the type, `decision matrix` when issue and severity did. */
  decisionSource: 'operator' | 'decision matrix';
  issue?: string;
  severity?: string;
  description?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Time spent waiting for the data-loss approval (not counted as execution time). */
  approvalWaitMs: number;
  timeline: TimelineEvent[];
  steps: Step[];
  impact?: RollbackImpactSummary;
  /** The restore of a backup loses every write since it was taken. */
  restoreLoss?: string;
  method?: string;
  fromVersion?: number;
  toVersion?: number;
  emergencyBackupId?: string;
  /** A full rollback by restore kept the replaced database as its emergency backup. */
  preserved?: {
    database: string;
    swappedAt: string;
    archiveWorkflowId: string;
    archiveBackupId: string;
    keepDatabase: boolean;
  };
  restoredBackupId?: string;
  app?: { before?: string | null; after?: string | null; expected?: string };
  verification?: { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
  watch?: RollbackWatch;
  approval?: ApprovalState;
  approvalRequired?: boolean;
  breakGlass?: { reason: string; by: string; skippedApproval: boolean };
  postMortemDue?: string;
}

export { GUIDE_LABEL };

export { formatSeconds } from '../src/format';

/**
 * "took 42 s; guide's target for Full Emergency: 5-10 minutes (within target)": the
 * execution time beside the guide's "Time to Execute" column.
 */
export function compareWithGuide(executionMs: number, type: string, expectedTime?: string): string {
  const label = rollbackLabel(type);
  if (!expectedTime || expectedTime === 'N/A')
    return `took ${formatSeconds(executionMs)}; the guide sets no time for ${label}`;
  const range = /(\d+)\s*-\s*(\d+)\s*minutes?/.exec(expectedTime);
  const verdict = range
    ? executionMs <= Number(range[2]) * 60_000
      ? 'within target'
      : 'OVER target'
    : 'compare by hand';
  return `took ${formatSeconds(executionMs)}; guide's target for ${label}: ${expectedTime} (${verdict})`;
}

function timeOf(iso?: string): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

/** The whole incident document. */
export function incidentMarkdown(f: IncidentFacts): string {
  const executionMs = Math.max(0, f.durationMs - f.approvalWaitMs);
  const title =
    f.type === 'none'
      ? `No rollback (fix in place) on ${f.environment}`
      : `${rollbackLabel(f.type)} rollback on ${f.environment}: ${f.finalState.toUpperCase()}`;
  const lines: string[] = [
    `# Incident ${f.incidentId} — ${title}`,
    '',
    `- Environment: ${f.environment}`,
    `- Started by: ${f.initiator}`,
    `- Workflow: \`${f.workflowId}\``,
    `- Outcome: **${f.finalState}**${f.reason ? ` — ${f.reason}` : ''}`,
    `- Started: ${timeOf(f.startedAt)}; ended: ${timeOf(f.endedAt)}`,
    `- Time to execute: ${compareWithGuide(executionMs, f.type, f.decision?.expectedTime)}${
      f.approvalWaitMs > 0 ? ` (plus ${formatSeconds(f.approvalWaitMs)} waiting for approval)` : ''
    }`,
    ...(f.issue || f.severity
      ? [`- Reported issue: ${f.issue ?? '?'} at ${f.severity ?? '?'}`]
      : []),
    ...(f.description ? [`- Description: ${f.description}`] : []),
    ...(f.postMortemDue ? [`- Post-mortem due: ${timeOf(f.postMortemDue)}`] : []),
    '',
    '## Decision',
    '',
    f.decision
      ? `**${rollbackLabel(f.decision.type)}** (${f.decisionSource}): ${f.decision.reason}. Guide's time to execute: ${f.decision.expectedTime}.`
      : `Chosen by the ${f.decisionSource}.`,
    '',
  ];

  if (f.impact || f.restoreLoss) {
    lines.push('## Impact and scope', '');
    if (f.impact) {
      lines.push(
        `Database at version ${f.impact.currentVersion}; target version ${f.impact.target}.`,
        '',
      );
      if (f.impact.reverted.length) {
        lines.push('Migrations reverted (in this order):', '');
        for (const m of f.impact.reverted)
          lines.push(
            `- ${formatVersion(m.version)} ${m.name}${m.rollbackFile ? ` — ${m.rollbackFile}` : ' — **no rollback file**'}`,
          );
        lines.push('');
      } else lines.push('No migration to revert.', '');
      if (f.impact.missingRollbackFiles.length)
        lines.push(
          `Versions without a rollback file: ${f.impact.missingRollbackFiles.join(', ')}.`,
          '',
        );
    }
    lines.push('### Data-loss warnings', '');
    const losses = f.impact?.dataLoss ?? [];
    if (!losses.length && !f.restoreLoss)
      lines.push('None: no table or column holding data is dropped.');
    for (const loss of losses) lines.push(`- ⚠️ ${describeLoss(loss)}`);
    if (f.restoreLoss) lines.push(`- ⚠️ ${f.restoreLoss}`);
    lines.push('');
  }

  if (
    f.approvalRequired ||
    f.breakGlass ||
    f.approval?.granted.length ||
    f.approval?.refused.length
  ) {
    lines.push('## Approval', '');
    if (f.breakGlass)
      lines.push(
        `- 🔓 **Break-glass** by ${f.breakGlass.by}: ${f.breakGlass.reason}${f.breakGlass.skippedApproval ? ' (the data-loss approval was skipped)' : ' (no approval was needed)'}`,
      );
    for (const g of f.approval?.granted ?? [])
      lines.push(
        `- ✅ approved by ${g.approver} at ${timeOf(g.at)}${g.comment ? `: ${g.comment}` : ''}`,
      );
    for (const r of f.approval?.refused ?? [])
      lines.push(`- ❌ refused ${r.summary} at ${timeOf(r.at)}: ${r.reason}`);
    if (f.approvalRequired && !f.breakGlass && !f.approval?.granted.length)
      lines.push('- no approval was given');
    lines.push('');
  }

  lines.push('## What was done', '');
  if (f.method) lines.push(`- Database: ${f.method}`);
  if (f.fromVersion !== undefined || f.toVersion !== undefined)
    lines.push(`- Migration version: ${f.fromVersion ?? '?'} → ${f.toVersion ?? '?'}`);
  if (f.preserved)
    lines.push(
      `- Emergency backup: the replaced database is kept as \`${f.preserved.database}\`, with every write up to the swap at ${timeOf(f.preserved.swappedAt)}; workflow \`${f.preserved.archiveWorkflowId}\` archives it with pg_dump as backup \`${f.preserved.archiveBackupId}\`${f.preserved.keepDatabase ? ' and keeps the database (emergency.keepPreservedDatabase)' : ', then drops the kept database'}`,
    );
  else if (f.emergencyBackupId)
    lines.push(`- Emergency backup taken before any change: \`${f.emergencyBackupId}\``);
  if (f.restoredBackupId) lines.push(`- Backup restored: \`${f.restoredBackupId}\``);
  if (f.app)
    lines.push(
      `- Application version: ${f.app.before ?? 'unknown'} → ${f.app.after ?? 'unknown'}${f.app.expected ? ` (expected ${f.app.expected})` : ''}`,
    );
  if (!f.method && !f.app && f.fromVersion === undefined) lines.push('- Nothing was changed.');
  lines.push('');

  lines.push('## Timeline', '', '| Time | Event |', '|---|---|');
  for (const event of f.timeline) lines.push(`| ${timeOf(event.at)} | ${escapeCell(event.text)} |`);
  lines.push('');

  lines.push(
    '## Steps',
    '',
    '| Step | Status | Started | Ended | Took | Detail |',
    '|---|---|---|---|---|---|',
  );
  for (const s of f.steps) {
    const took =
      s.startedAt && s.endedAt
        ? formatSeconds(Date.parse(s.endedAt) - Date.parse(s.startedAt))
        : '';
    lines.push(
      `| ${s.name} | ${s.status} | ${timeOf(s.startedAt)} | ${timeOf(s.endedAt)} | ${took} | ${escapeCell(s.detail)} |`,
    );
  }
  lines.push('');

  if (f.verification) {
    lines.push('## Verification', '', `Result: **${f.verification.ok ? 'passed' : 'FAILED'}**`, '');
    for (const c of f.verification.checks)
      lines.push(`- ${c.ok ? '✅' : '❌'} ${c.name}: ${c.detail}`);
    lines.push('');
  }

  if (f.watch) {
    lines.push('## Threshold watch', '');
    if (f.watch.skipped) lines.push(f.watch.skipped);
    else {
      lines.push(
        `${f.watch.samples} sample(s) over ${formatSeconds(f.watch.windowMs)} (every ${formatSeconds(f.watch.intervalMs)}): ${
          f.watch.breaches.length
            ? `**${f.watch.breaches.length} breach(es)**`
            : 'no threshold breached'
        }.`,
      );
      for (const b of f.watch.breaches)
        lines.push(`- ⚠️ ${timeOf(b.at)} ${b.trigger} (${b.severity}): ${b.detail}`);
    }
    lines.push('');
  }

  lines.push(
    '## Follow-up',
    '',
    f.postMortemDue
      ? `- Post-mortem scheduled, due ${timeOf(f.postMortemDue)} (notification sent).`
      : '- Schedule a post-mortem.',
    '',
  );
  return lines.join('\n');
}
