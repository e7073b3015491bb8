import { Context } from '@temporalio/activity';
import { runHook, type HookResult } from '../src/app/hooks';
import { readAppVersion } from '../src/app/health';
import { assertAppVersion } from '../src/app/version';
import { asActivity, settingsOf, type ActivityDeps, type OnEnvironment } from './deps';

export interface AppHookOutcome {
  ran: boolean;
  ok: boolean;
  detail: string;
  versionBefore?: string;
  versionAfter?: string;
  result?: HookResult;
}

/** The application's version from its version URL; undefined when none is configured or it fails. */
async function currentVersion(
  deps: ActivityDeps,
  environment: string,
): Promise<string | undefined> {
  const url = settingsOf(deps, environment).app.versionUrl;
  if (!url) return undefined;
  return readAppVersion(url).catch(() => undefined);
}

export function createAppActivities(deps: ActivityDeps) {
  const run = async (
    environment: string,
    which: 'deploy' | 'rollback',
    vars: Record<string, string>,
  ): Promise<AppHookOutcome> => {
    const hook = settingsOf(deps, environment).app[which];
    const versionBefore = await currentVersion(deps, environment);
    if (!hook)
      return {
        ran: false,
        ok: true,
        detail: `no app.${which} hook configured for ${environment}`,
        versionBefore,
        versionAfter: versionBefore,
      };
    const result = await runHook(
      hook,
      { environment, ...vars, previousVersion: versionBefore ?? '' },
      Context.current().cancellationSignal,
    );
    const versionAfter = await currentVersion(deps, environment);
    return {
      ran: true,
      ok: result.ok,
      detail: result.ok
        ? `${which} hook succeeded in ${result.durationMs} ms${versionAfter ? `; application at ${versionAfter}` : ''}`
        : `${which} hook failed: ${result.error ?? 'unknown error'}`,
      versionBefore,
      versionAfter,
      result,
    };
  };
  return {
    /** Runs the environment's app.deploy hook with `{version}`. A failing hook is a result, not an exception. */
    async deployApplication(input: OnEnvironment<{ version: string }>): Promise<AppHookOutcome> {
      return asActivity(() =>
        run(input.environment, 'deploy', {
          version: assertAppVersion(input.version, 'application version'),
        }),
      );
    },
    /** Runs the app.rollback hook (back to `version` when given, else the previous version). */
    async rollbackApplication(input: OnEnvironment<{ version?: string }>): Promise<AppHookOutcome> {
      return asActivity(() =>
        run(input.environment, 'rollback', {
          version: input.version ? assertAppVersion(input.version, 'application version') : '',
        }),
      );
    },
    async readApplicationVersion(input: OnEnvironment): Promise<string | null> {
      return asActivity(async () => (await currentVersion(deps, input.environment)) ?? null);
    },
  };
}
