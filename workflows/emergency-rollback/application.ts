import { CancellationScope } from '@temporalio/workflow';
import { appHooks, quick } from '../activity-proxies';
import { stepFailure } from '../failures';
import { announce, planned, readAppVersion, type RollbackRun } from './run';
import { refuse } from './incident';

/** The guide's application rollback: the app.rollback hook; the database is untouched. */
export async function applicationRollback(run: RollbackRun): Promise<void> {
  const { environment, tracker, policy } = run;
  tracker.start('assess impact', 'reading the application version and the last deploy');
  if (!policy.app.rollbackHook)
    throw refuse(
      `no app.rollback hook is configured for ${environment}: set environments.${environment}.app.rollback in pgshift.config.json`,
    );
  const last = await quick.findLastSuccessfulDeployment({ environment });
  const before = await readAppVersion(run);
  const expected =
    last?.appVersionBefore && before !== null && last.appVersionAfter === before
      ? last.appVersionBefore
      : undefined;
  const lines = [
    `roll the application back from ${before ?? 'unknown'} to ${expected ?? 'its previous version'}`,
    'database untouched',
  ];
  planned(run, lines);
  await CancellationScope.nonCancellable(async () => {
    await announce(run, lines.join('; '));
    await rollBackApplication(run, expected, before);
  });
}

/**
 * Runs the app.rollback hook, then checks the version: back to `expected` when it is known
 * (deploying it when the hook left another version and a deploy hook exists), else changed.
 */
export async function rollBackApplication(
  run: RollbackRun,
  expected: string | undefined,
  before: string | null,
): Promise<void> {
  const { environment, tracker, incident, policy } = run;
  tracker.start(
    'roll back application',
    `running the app.rollback hook${expected ? ` (back to ${expected})` : ''}`,
  );
  const outcome = await appHooks.rollbackApplication.executeWithOptions(
    { summary: `roll back the application of ${environment}${expected ? ` to ${expected}` : ''}` },
    [{ environment, ...(expected ? { version: expected } : {}) }],
  );
  if (!outcome.ran)
    throw stepFailure(
      'AppRollbackFailed',
      `${outcome.detail}: set environments.${environment}.app.rollback in pgshift.config.json`,
    );
  incident.markChanged();
  if (!outcome.ok) throw stepFailure('AppRollbackFailed', outcome.detail);
  tracker.complete('roll back application', outcome.detail);
  incident.note(`application rollback hook ran: ${outcome.detail}`);

  tracker.start('verify application', `reading the application version of ${environment}`);
  let after = await readAppVersion(run);
  if (expected && after !== expected && policy.app.deployHook) {
    incident.note(
      `application at ${after ?? 'unknown'} after the rollback hook, expected ${expected}: deploying ${expected}`,
    );
    const redeploy = await appHooks.deployApplication.executeWithOptions(
      { summary: `deploy ${expected} to ${environment} (the version before the last deploy)` },
      [{ environment, version: expected }],
    );
    if (!redeploy.ok) throw stepFailure('AppRollbackFailed', redeploy.detail);
    after = await readAppVersion(run);
  }
  incident.learn({ app: { before, after, ...(expected ? { expected } : {}) } });
  if (expected && after !== null && after !== expected)
    throw stepFailure(
      'AppRollbackFailed',
      `application at ${after} after the rollback, expected ${expected}`,
    );
  if (!expected && before !== null && after !== null && after === before)
    throw stepFailure('AppRollbackFailed', `application still at ${after} after the rollback hook`);
  tracker.complete(
    'verify application',
    after === null
      ? 'no app.versionUrl configured: hook result trusted'
      : `application at ${after}`,
  );
  incident.note(`application verified at ${after ?? 'unknown version'}`);
}
