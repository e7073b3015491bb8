import { ApplicationFailure, condition } from '@temporalio/workflow';
import { parseWorkflowInput } from '../text';
import {
  fleetDeployInputSchema,
  type FleetDeployInput,
  type FleetDeployResult,
} from './definitions';
import { approveRollout } from './fleet-approval';
import { FleetRun } from './fleet-run';
import { openWave, runWave } from './fleet-waves';

/**
 * `pgshift deploy --fleet <name>`: one plan rolled out to every database of a fleet.
 * One approval gate for the whole fleet → waves (cumulative sizes over the members in order),
 * each wave a pool of child workflows (`fleetDatabaseDeploy`, the production deploy's steps)
 * at most `concurrency` at a time → between waves a pause or an approval (`resumeFleet`).
 * When more databases fail than the failure budget allows, no new database and no later wave
 * starts: the rollout is `halted` (failed databases were compensated by their children,
 * finished ones stay) until `resumeFleet` (failed databases are tried again, the budget
 * counts afresh) or `rollbackFleet` (deployed databases return to their version, waves in
 * reverse). After the last wave the run stays open for `rollbackWindow`, then completes.
 *
 * The run continues as new after `childrenPerRun` children (or when Temporal suggests it),
 * always between children, carrying the state of every database: a fleet of 10 000
 * databases fits the history limits. Only a continued run accepts carried state.
 */
export async function fleetDeploy(input: FleetDeployInput): Promise<FleetDeployResult> {
  parseWorkflowInput(fleetDeployInputSchema, input, 'fleetDeploy');
  const run = new FleetRun(input);
  if (!run.started) {
    const ended = await approveRollout(run);
    if (ended) return ended;
  }
  const s = run.state;
  for (;;) {
    if (s.stage === 'rolling-out' || s.stage === 'between-waves') {
      for (; s.wave < s.settings.waves.length; s.wave++, s.waveOpened = false) {
        if (!s.waveOpened) {
          if ((await openWave(run)) === 'rollback') break;
          s.waveOpened = true;
          run.setStage('rolling-out', `rolling out wave ${s.wave + 1}`);
        }
        if (!(await runWave(run, s.wave, 'deploy'))) await run.carryOn();
        if (s.failures > s.settings.allowance) break;
      }
      if (s.stage === 'between-waves') {
        s.wave = Math.max(0, s.wave - 1);
        run.setStage('rolling-back', 'rollback requested between waves');
      } else if (s.failures > s.settings.allowance)
        run.setStage(
          'halted',
          `halted in wave ${s.wave + 1}: ${s.failures} database(s) failed, the budget allows ${s.settings.allowance}. \`pgshift fleet resume ${run.fleet}\` tries them again; \`pgshift rollback --fleet ${run.fleet}\` reverses the rollout`,
        );
      else {
        s.wave = s.settings.waves.length - 1;
        s.rolledOutAt ??= Date.now();
        run.setStage(
          'rolled-out',
          `every wave rolled out; \`pgshift rollback --fleet ${run.fleet}\` reverses it until ${new Date(s.rolledOutAt + s.settings.rollbackWindowMs).toISOString()}`,
        );
      }
    } else if (s.stage === 'halted') {
      const request = await run.nextRequest(['resume', 'rollback']);
      if (request.kind === 'resume') {
        for (const db of s.databases) if (db.status === 'failed') db.status = 'pending';
        s.failures = 0;
        s.waveOpened = true;
        run.setStage('rolling-out', `resumed by ${request.by}: rolling out wave ${s.wave + 1}`);
      } else run.setStage('rolling-back', `rollback requested by ${request.by}`);
    } else if (s.stage === 'rolled-out') {
      const left = s.rolledOutAt! + s.settings.rollbackWindowMs - Date.now();
      if (left > 0 && !(await condition(() => run.hasRequests, left))) continue;
      const request = left > 0 ? await run.takeRequest(['rollback']) : undefined;
      if (left <= 0) return run.finish('completed', run.progress.outcome('rolled out'));
      if (request) run.setStage('rolling-back', `rollback requested by ${request.by}`);
    } else if (s.stage === 'rolling-back') {
      for (; s.wave >= 0; s.wave--) {
        run.progress.show(`rolling back wave ${s.wave + 1}`);
        if (!(await runWave(run, s.wave, 'rollback'))) await run.carryOn();
      }
      return run.finish('rolled-back', run.progress.outcome('rolled back'));
    } else throw ApplicationFailure.nonRetryable(`unexpected stage ${s.stage}`, 'InvalidInput');
  }
}
