/**
 * Representative production deploys, run for real against the test stack: the runs whose
 * histories `scripts/record-histories.ts` keeps under test/histories/ for the replay tests.
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { MigrationPlan } from '../../src/migrations/types';
import {
  approveSignal,
  cancelDeploySignal,
  submitApprovalUpdate,
  submitRejectionUpdate,
} from '../../workflows/definitions';
import type { productionDeploy } from '../../workflows/production-deploy';
import {
  approveAll,
  loadFixturePlan,
  waitForApprovalGate,
  waitForPhase,
  type DeployStack,
  type ProductionDeployResult,
} from './deploy-stack';

export interface Scenario {
  name: string;
  expected: ProductionDeployResult['finalState'];
  run(stack: DeployStack, plan: MigrationPlan): Promise<WorkflowHandle<typeof productionDeploy>>;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'completed',
    expected: 'completed',
    async run(stack, plan) {
      const handle = await stack.startDeploy(plan, { appVersion: '2.0.0' });
      await waitForApprovalGate(handle);
      await handle.signal(approveSignal, { role: 'devops', approver: 'mallory' }); // refused
      await handle.executeUpdate(submitApprovalUpdate, {
        args: [
          { role: 'engineering-lead', approver: 'alice', planChecksum: plan.checksum.slice(0, 12) },
        ],
      });
      await approveAll(handle, [
        { role: 'product-owner', approver: 'bob' },
        { role: 'devops', approver: 'carol' },
      ]);
      await handle.result();
      return handle;
    },
  },
  {
    name: 'rolled-back',
    expected: 'rolled-back',
    async run(stack, plan) {
      const handle = await stack.startDeploy(plan, {
        appVersion: '2.0.0',
        monitoringWindow: '60s',
        monitoringInterval: '1s',
      });
      await waitForApprovalGate(handle);
      await approveAll(handle);
      await waitForPhase(handle, 'monitor');
      await stack.setFault({ mode: 'fail', version: '2.0.0' });
      await handle.result();
      return handle;
    },
  },
  {
    name: 'rejected',
    expected: 'rejected',
    async run(stack, plan) {
      const handle = await stack.startDeploy(plan);
      await waitForApprovalGate(handle);
      await handle.signal(approveSignal, { role: 'engineering-lead', approver: 'alice' });
      await handle.signal(approveSignal, { nonsense: true } as never); // refused: malformed
      await handle.executeUpdate(submitRejectionUpdate, {
        args: [{ approver: 'bob', reason: 'freeze week' }],
      });
      await handle.result();
      return handle;
    },
  },
  {
    // Compensation restores the backup (a rollback file fails) and keeps the database it
    // replaces until the restored one is verified, then a child archives and drops it.
    name: 'restored-keeping-replaced',
    expected: 'rolled-back',
    async run(stack) {
      const broken = await loadFixturePlan('deploy-broken-rollback');
      await stack.certify(broken);
      const handle = await stack.startDeploy(broken, {
        monitoringWindow: '60s',
        monitoringInterval: '1s',
      });
      await waitForApprovalGate(handle);
      await approveAll(handle);
      await waitForPhase(handle, 'monitor');
      await handle.signal(cancelDeploySignal, { by: 'carol', reason: 'customer reports' });
      await handle.result();
      return handle;
    },
  },
];
