import { missingRoles, requiredRolesFor } from './approval-policy';
import type { ApprovalState } from './definitions';
import type { DeployEnding, DeployRun } from './deploy-run';
import { formatMs } from './deploy-options';
import { authorizationOf } from './signed-approvals';

/**
 * The approvals gate of a deploy: open it with the roles the plan's risk needs, tell the
 * approvers, wait (reminders, expiry, a cancellation), and end the deploy with no change made
 * when it is rejected, expires or is cancelled. Undefined: approved, go on.
 */
export async function awaitApprovals(run: DeployRun): Promise<DeployEnding | undefined> {
  const { environment, initiator, plan, options, tracker, gate, shortPlan } = run;
  const policy = run.policy!;
  const validation = run.validation!;
  const highRisk = validation.highRisk || options.highRisk === true;
  const requiredRoles = requiredRolesFor(policy.approvals, { highRisk });
  const expiryMs = run.overrides.approvalExpiry ?? policy.approvals.expiryMs;
  tracker.start('approvals', `waiting for ${requiredRoles.join(', ')}`);
  const signatures = run.keys.current;
  gate.open({
    initiator,
    planChecksum: plan.checksum,
    roster: policy.approvals.roster,
    requiredRoles,
    expiresAt: Date.now() + expiryMs,
    allowInitiator: policy.approvals.allowInitiator,
    ...(signatures ? { signatures } : {}),
  });
  await run.tell(
    'info',
    `Approval needed: deploy to ${environment}`,
    `${initiator} asks to deploy plan ${shortPlan} (${run.pending.length} migration(s) up to ${run.top}${options.appVersion ? `, application ${options.appVersion}` : ''}${options.acceptChangedRollback ? `; compensation may run CHANGED rollback files: ${options.acceptChangedRollback.reason}` : ''}) to ${environment}${highRisk ? ` — HIGH RISK: ${[...(validation.riskReasons ?? []), ...(options.highRisk ? ['marked high risk by the initiator'] : [])].slice(0, 5).join('; ')}` : ''}. Needed: ${requiredRoles.join(', ')}; expires ${gate.state.expiresAt}.`,
  );
  const outcome = await gate.wait({
    reminderEveryMs: policy.approvals.reminderEveryMs,
    remind: (missing) =>
      run.tell(
        'warning',
        `Reminder: deploy to ${environment} waits for approvals`,
        `Plan ${shortPlan} still needs ${missing.join(', ')}; the window closes at ${gate.state.expiresAt}.`,
      ),
    stop: () => run.cancelRequested,
    ...(signatures ? { reloadKeys: () => run.keys.reload() } : {}),
  });
  const approvals = gate.state;
  if (outcome === 'rejected') {
    const by = approvals.rejected!;
    tracker.fail('approvals', `rejected by ${by.approver}: ${by.reason}`);
    return { finalState: 'rejected', reason: `rejected by ${by.approver}: ${by.reason}` };
  }
  if (outcome === 'expired') {
    const reason = `the approval window (${formatMs(expiryMs)}) closed at ${approvals.expiresAt} with ${missingRoles(approvals).join(', ')} missing; nothing was changed`;
    tracker.fail('approvals', reason);
    return { finalState: 'approval-expired', reason };
  }
  if (outcome === 'cancelled') {
    const request = run.cancellation.request;
    const reason = `cancelled by ${request?.by} before any change: ${request?.reason}`;
    tracker.fail('approvals', reason);
    return { finalState: 'rejected', reason };
  }
  tracker.complete(
    'approvals',
    approvals.granted.map((g) => `${g.role} by ${g.approver}`).join(', ') ||
      'no approvals required',
  );
  if (run.keys.current) run.authorization = authorizationOf('deploy', run.input, gate.state);
  return undefined;
}

/** The Web UI's text while the deploy waits: who is missing, who approved, how to approve. */
export function waitingDetails(run: DeployRun, state: ApprovalState): string {
  const { shortPlan, workflowId } = run;
  const roster = run.policy?.approvals.roster ?? {};
  const missing = missingRoles(state)
    .map((role) => `**${role}** (${(roster[role] ?? []).join(', ') || 'nobody on the roster'})`)
    .join(', ');
  const granted = state.granted.map((g) => `${g.role} by ${g.approver}`).join(', ');
  const latest = state.refused[state.refused.length - 1];
  const refused = latest
    ? `; ${state.refused.length} refused attempt(s), latest: ${latest.summary} (${latest.reason})`
    : '';
  return (
    `waiting for approvals of plan \`${shortPlan}\` until ${state.expiresAt}: missing ${missing || 'none'}` +
    `${granted ? `; approved: ${granted}` : ''}${refused}. ` +
    (run.keys.current?.required
      ? `Approve with \`pgshift approve ${workflowId} --role <role> --as <name> --key <private key>\` or the \`approve\` signal {"role", "approver", "statement", "signature"} (signed statements only: \`--print-statement\`, then \`ssh-keygen -Y sign -n pgshift\`).`
      : `Approve with \`pgshift approve ${workflowId} --role <role> --as <name>\` or the \`approve\` signal {"role", "approver"}.`)
  );
}
