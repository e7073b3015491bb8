/**
 * Signed approvals for fleet rollouts, on real Temporal and PostgreSQL: a fleet with a
 * production-tier member requires signatures by default; the start, the approvals and the
 * resume / rollback requests are SSH-signed statements bound to `fleet:<name>`, the rollout's
 * workflow id and first run id, the plan and the role, verified against
 * fleets.<name>.approvals.allowedSigners; and the worker checks a child's parent's signed
 * approvals again before it changes a database, so unsigned names in a parent's history
 * change nothing.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { DecisionAction } from '../../src/approvals/statement';
import { newStatement, type StatementTarget } from '../../src/cli/signing';
import { parseConfig, type PgshiftConfigInput } from '../../src/config';
import { approvalsQuery, approveSignal } from '../../workflows/definitions';
import {
  fleetOverviewQuery,
  rollbackFleetSignal,
  type FleetDeployResult,
} from '../../workflows/fleet/definitions';
import { makeSigners, sshKeygenSign, type TestKey } from '../approvals/support/ssh-keys';
import { closeTestEnv, temporalNamespace } from '../support/temporal';
import { waitFor } from '../support/wait';
import * as fleet from './fleet-stack';

const SIGNED = fleet.memberNames('signed', 3);
const GUARDED = fleet.memberNames('guarded', 2);
const LAX = fleet.memberNames('lax', 1);

let stack: fleet.FleetStack;
let keys: Record<string, TestKey>;
let signersFile: string;

/** A fleet whose approvals name the allowed signers (requireSignatures left to its default). */
const signedFleet = (members: string[], extra: Record<string, unknown> = {}) => ({
  members,
  approvals: fleet.fleetApprovals(signersFile),
  ...extra,
});

beforeAll(async () => {
  ({ keys, file: signersFile } = makeSigners(
    ['alice', 'carol', 'erin', 'mallory'],
    ['alice', 'carol', 'erin'],
  ));
  stack = await fleet.createFleetStack(
    {
      signed: signedFleet(SIGNED, { waves: [1, '100%'], concurrency: 2 }),
      guarded: signedFleet(GUARDED),
      // No production member, no requireSignatures: names are taken as given.
      lax: { members: LAX },
    },
    // One production-tier member makes signatures the default for its fleet.
    { [SIGNED[1]]: { tier: 'production' }, [GUARDED[0]]: { tier: 'production' } },
  );
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

function target(fleet: string, workflowId: string, runId: string | null): StatementTarget {
  return {
    namespace: temporalNamespace(),
    environment: `fleet:${fleet}`,
    workflowId,
    runId,
    planChecksum: stack.plan.checksum,
  };
}

/** A statement signed with `ssh-keygen -Y sign -n pgshift`. */
function sign(key: TestKey, at: StatementTarget, action: DecisionAction, person: string) {
  const statement = newStatement(at, action, person, '');
  return { statement, signature: sshKeygenSign(key, statement) };
}

/** An `approve` payload for `role`, signed with `key` (the statement may name another role). */
function signedApproval(
  key: TestKey,
  at: StatementTarget,
  role: string,
  person: string,
  action: DecisionAction = `approve:${role}`,
) {
  return { role, approver: person, ...sign(key, at, action, person) };
}

/** Starts a rollout of `fleet` whose start erin signed. */
async function startSigned(fleet: string, options = {}) {
  const workflowId = `fleet-${fleet}-${Date.now()}`;
  return stack.startFleet(fleet, options, {
    workflowId,
    ...sign(keys.erin, target(fleet, workflowId, null), 'initiate-deploy', 'erin'),
  });
}

describe('a fleet with a production-tier member requires signed decisions', () => {
  it(
    'rolls out with signed approvals (across a continue-as-new), refuses an unsigned rollback request and rolls back on a signed one',
    { timeout: 300_000 },
    async () => {
      const handle = await startSigned('signed', { childrenPerRun: 2 });
      const at = target('signed', handle.workflowId, handle.firstExecutionRunId);
      await fleet.waitForStage(stack.client, handle, 'approving');
      await handle.signal(
        approveSignal,
        signedApproval(keys.alice, at, 'engineering-lead', 'alice'),
      );
      await handle.signal(approveSignal, signedApproval(keys.carol, at, 'devops', 'carol'));
      const approvals = await waitFor('both signed approvals counted', async () => {
        const state = await handle.query(approvalsQuery);
        return state.granted.length + state.refused.length >= 2 ? state : undefined;
      });
      expect(approvals.refused).toEqual([]);
      expect(approvals.granted.map((g) => [g.role, g.fingerprint])).toEqual([
        ['engineering-lead', keys.alice.fingerprint],
        ['devops', keys.carol.fingerprint],
      ]);
      const done = await fleet.waitForStage(stack.client, handle, 'rolled-out');
      expect(done.waves.map((w) => w.counts)).toEqual([{ deployed: 1 }, { deployed: 2 }]);
      for (const member of SIGNED)
        expect(await fleet.versionsOf(stack.urls[member])).toEqual([1, 2, 3]);

      // The rollout continued as new: later decisions still name its first run.
      const latest = stack.client.workflow.getHandle(handle.workflowId);
      expect((await latest.describe()).runId).not.toBe(handle.firstExecutionRunId);
      await latest.signal(rollbackFleetSignal, { kind: 'rollback', by: 'alice' });
      await latest.signal(rollbackFleetSignal, {
        kind: 'rollback',
        by: 'alice',
        ...sign(keys.mallory, at, 'fleet-rollback', 'alice'),
      });
      const refused = await waitFor('two refused rollback requests', async () => {
        const overview = await latest.query(fleetOverviewQuery);
        return overview.decisions.length >= 2 ? overview.decisions : undefined;
      });
      expect(refused.map((d) => d.refused)).toEqual([
        expect.stringMatching(/^signature refused: .*unsigned/i),
        expect.stringMatching(/^signature refused: /),
      ]);
      expect((await latest.query(fleetOverviewQuery)).stage).toBe('rolled-out');

      await latest.signal(rollbackFleetSignal, {
        kind: 'rollback',
        by: 'alice',
        reason: 'test',
        ...sign(keys.alice, at, 'fleet-rollback', 'alice'),
      });
      const result = (await latest.result()) as FleetDeployResult;
      expect(result.finalState).toBe('rolled-back');
      const overview = await latest.query(fleetOverviewQuery).catch(() => undefined);
      if (overview)
        expect(overview.decisions.at(-1)).toMatchObject({
          by: 'alice',
          fingerprint: keys.alice.fingerprint,
        });
      for (const member of SIGNED) expect(await fleet.versionsOf(stack.urls[member])).toEqual([1]);
    },
  );

  it(
    'refuses and records unsigned and wrongly signed approvals; the rollout never starts',
    { timeout: 180_000 },
    async () => {
      const handle = await startSigned('guarded', { approvalExpiry: '20s' });
      const at = target('guarded', handle.workflowId, handle.firstExecutionRunId);
      await fleet.waitForStage(stack.client, handle, 'approving');
      // Names alone.
      await handle.signal(approveSignal, { role: 'engineering-lead', approver: 'alice' });
      // mallory's key, in carol's name.
      await handle.signal(approveSignal, signedApproval(keys.mallory, at, 'devops', 'carol'));
      // carol's own key, but a statement for another role.
      await handle.signal(
        approveSignal,
        signedApproval(keys.carol, at, 'devops', 'carol', 'approve:engineering-lead'),
      );
      // alice's statement for another run of the same workflow id.
      await handle.signal(
        approveSignal,
        signedApproval(keys.alice, { ...at, runId: 'another-run' }, 'engineering-lead', 'alice'),
      );
      const approvals = await waitFor('four refused approvals', async () => {
        const state = await handle.query(approvalsQuery);
        return state.refused.length >= 4 ? state : undefined;
      });
      expect(approvals.granted).toEqual([]);
      expect(approvals.refused.map((r) => r.reason)).toEqual([
        expect.stringMatching(/unsigned/i),
        expect.stringMatching(/./),
        expect.stringMatching(/./),
        expect.stringMatching(/./),
      ]);
      const result = await handle.result();
      expect(result.finalState).toBe('approval-expired');
      expect(result.waves.flatMap((w) => Object.keys(w.counts))).toEqual(['pending']);
      for (const member of GUARDED) expect(await fleet.versionsOf(stack.urls[member])).toEqual([1]);
    },
  );

  it('refuses an unsigned start before anything else', { timeout: 60_000 }, async () => {
    const handle = await stack.startFleet('guarded');
    const failure = await handle.result().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(String((failure as WorkflowFailedError).cause?.message)).toMatch(
      /the start of this fleet rollout by erin is refused: .*fleets\.guarded\.approvals\.allowedSigners/,
    );
    for (const member of GUARDED) expect(await fleet.versionsOf(stack.urls[member])).toEqual([1]);
  });
});

describe('a parent whose approvals are names only', () => {
  it(
    'authorizes nothing on a worker whose config requires signatures for the member',
    { timeout: 180_000 },
    async () => {
      // The parent ran where names were enough (as a forged history or a rogue worker would
      // have it): approved by names, rolled out.
      const handle = await stack.startFleet('lax');
      await fleet.approveFleet(stack.client, handle);
      await fleet.waitForStage(stack.client, handle, 'rolled-out');
      // This worker's config makes the member a production-tier environment and the fleet's
      // approvals signed: its activities refuse to act for that parent.
      const raw = JSON.parse(
        (await import('node:fs')).readFileSync(stack.configFile, 'utf8'),
      ) as PgshiftConfigInput & { environments: Record<string, object> };
      raw.environments[LAX[0]] = { ...raw.environments[LAX[0]], tier: 'production' };
      const strict = createActivities({
        config: parseConfig(
          {
            ...raw,
            fleets: {
              lax: {
                environments: LAX,
                approvals: fleet.fleetApprovals(signersFile),
              },
            },
          },
          null,
        ),
        env: stack.env,
      });
      const mock = () => new MockActivityEnvironment({ taskQueue: stack.taskQueue });
      const parent = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
      await expect(
        mock().run(strict.verifyFleetParent, {
          parent,
          fleet: 'lax',
          environment: LAX[0],
          planChecksum: stack.plan.checksum,
        }),
      ).rejects.toMatchObject({
        type: 'FleetParentRefused',
        message: expect.stringMatching(
          /its signed approvals do not verify against fleets\.lax\.approvals\.allowedSigners .*the initiator's signed start: unsigned/,
        ),
      });
      // An apply that names the fleet, from a workflow that is no fleet rollout's child.
      await expect(
        mock().run(strict.applyMigrations, {
          environment: LAX[0],
          plan: stack.plan,
          authorization: {
            kind: 'deploy' as const,
            approvals: [],
            fleet: { fleet: 'lax', planChecksum: stack.plan.checksum },
          },
        }),
      ).rejects.toMatchObject({
        type: 'FleetParentRefused',
        message: expect.stringMatching(/not started by a fleet rollout/),
      });
      expect(await fleet.versionsOf(stack.urls[LAX[0]])).toEqual([1, 2, 3]);
    },
  );
});
