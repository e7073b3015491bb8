import { Context } from '@temporalio/activity';
import { assertRehearsable } from '../src/config';
import { settingsOf, type ActivityDeps } from './deps';

/** The workflow type of the staging rehearsal (workflows/staging-rehearsal.ts). */
const REHEARSAL_WORKFLOW = 'stagingRehearsal';

/**
 * Refuses, in the worker, to let a staging rehearsal read or change a production-tier
 * environment, whatever client started the workflow and whatever its input says: the
 * workflow type comes from Temporal, the tier from the worker's config.
 */
export function refuseRehearsalOfProduction(deps: ActivityDeps, environment: string): void {
  const workflowType = Context.current().info.workflowType;
  if (workflowType === REHEARSAL_WORKFLOW) assertRehearsable(settingsOf(deps, environment));
}
