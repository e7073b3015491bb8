import { withClient } from '../src/migrations/database';
import { testAllRollbacks } from '../src/migrations/rollback-test';
import type { PlanArgument } from '../src/migrations/types';
import { resolvePlan } from './plan-store';
import {
  checkHttpHealth,
  compareRowCounts,
  countRows,
  measureBaseline,
  sampleMetrics,
  type Baseline,
  type MetricsSample,
  type RowCounts,
} from '../src/verify';
import {
  databaseCheck,
  sqlChecks,
  type VerificationCheck as CheckOutcome,
  type VerificationResult as VerificationReport,
} from '../src/verify/run-verification';
import { compareWithSchemaSnapshot, saveSchemaSnapshot } from '../src/records/schema-snapshots';
import { withHeartbeat } from './heartbeat';
import type { ActivityDeps, OnEnvironment } from './deps';
import { asActivity, databaseUrlOf, settingsOf } from './deps';

/** One check of the verification, and the verification of an environment: as the library's. */
export type { CheckOutcome, VerificationReport };

export function createVerifyActivities(deps: ActivityDeps) {
  const metricsTarget = (environment: string, tables?: string[]) => {
    const settings = settingsOf(deps, environment);
    return {
      databaseUrl: databaseUrlOf(deps, environment),
      healthChecks: settings.healthChecks,
      metricsUrl: settings.app.metricsUrl,
      probeTables: (tables ?? []).slice(0, 20),
    };
  };
  return {
    /** Row counts of the environment's critical tables (the "must not drop" reference). */
    async captureRowCounts(input: OnEnvironment): Promise<RowCounts> {
      return asActivity(() =>
        countRows(
          databaseUrlOf(deps, input.environment),
          settingsOf(deps, input.environment).criticalTables,
        ),
      );
    },

    /**
     * The guide's post-deployment verification: `SELECT 1`, critical row counts not
     * dropped, configured SQL checks, HTTP health checks (status and latency).
     */
    async verifyEnvironment(
      input: OnEnvironment<{ baselineRowCounts?: RowCounts; skipHttp?: boolean }>,
    ): Promise<VerificationReport> {
      return asActivity(() =>
        withHeartbeat(async () => {
          const settings = settingsOf(deps, input.environment);
          const url = databaseUrlOf(deps, input.environment);
          const db = await databaseCheck(
            url,
            'SELECT 1',
            (answer) => `database answered in ${Math.round(answer.latencyMs)} ms`,
          );
          const checks: CheckOutcome[] = [db];
          let rowCounts: RowCounts = {};
          if (db.ok && settings.criticalTables.length) {
            rowCounts = await countRows(url, settings.criticalTables);
            if (input.baselineRowCounts) {
              const comparison = compareRowCounts(input.baselineRowCounts, rowCounts);
              checks.push({
                name: 'critical row counts',
                kind: 'row-counts',
                ok: comparison.ok,
                detail: comparison.ok
                  ? Object.entries(rowCounts)
                      .map(([t, n]) => `${t}: ${n}`)
                      .join(', ')
                  : comparison.drops.map((d) => `${d.table}: ${d.before} → ${d.after}`).join(', '),
              });
            }
          }
          if (db.ok) checks.push(...(await sqlChecks(url, settings)));
          if (!input.skipHttp)
            for (const check of settings.healthChecks) {
              const result = await checkHttpHealth(check);
              checks.push({
                name: check.name,
                kind: 'http',
                ok: result.ok,
                detail: result.ok
                  ? `${result.status} in ${result.latencyMs} ms`
                  : (result.error ?? `status ${result.status}`),
                latencyMs: result.latencyMs,
              });
            }
          return {
            environment: input.environment,
            ok: checks.every((c) => c.ok),
            checks,
            rowCounts,
          };
        }),
      );
    },

    /** Latency reference measured before a deploy, for "performance degradation > 50%". */
    async measureBaseline(input: OnEnvironment<{ tables?: string[] }>): Promise<Baseline> {
      return asActivity(() => measureBaseline(metricsTarget(input.environment, input.tables)));
    },

    /** One observation of the monitoring window; the workflow judges it with evaluateThresholds. */
    async sampleMetrics(input: OnEnvironment<{ tables?: string[] }>): Promise<MetricsSample> {
      return asActivity(() =>
        withHeartbeat(() => sampleMetrics(metricsTarget(input.environment, input.tables))),
      );
    },

    /** Stores the live schema under a label (e.g. `v5`) for later comparison. */
    async captureSchema(
      input: OnEnvironment<{ workflowId: string; label: string }>,
    ): Promise<{ digest: string; objects: number }> {
      return asActivity(() =>
        withClient(databaseUrlOf(deps, input.environment), (client) =>
          saveSchemaSnapshot(client, input.workflowId, input.label),
        ),
      );
    },

    /** Does the live schema equal the one stored under `label`? Differences in words. */
    async compareSchema(
      input: OnEnvironment<{ workflowId: string; label: string }>,
    ): Promise<{ matches: boolean; differences: string[] }> {
      return asActivity(async () => {
        const result = await withClient(databaseUrlOf(deps, input.environment), (client) =>
          compareWithSchemaSnapshot(client, input.workflowId, input.label),
        );
        return { matches: result.matches, differences: result.differences.slice(0, 50) };
      });
    },

    /**
     * The toolkit's rollback tests (`test rollback --all`) in scratch databases: never on
     * the environment's own database. Heartbeats per migration.
     */
    async runRollbackTests(input: OnEnvironment<{ plan: PlanArgument }>): Promise<{
      passed: boolean;
      tested: number;
      failures: string[];
      durationMs: number;
    }> {
      return asActivity(async () => {
        const plan = await resolvePlan(deps, input.plan);
        const serverUrl =
          deps.scratchServerUrl ??
          (deps.env ?? process.env).PGSHIFT_SCRATCH_DATABASE_URL ??
          (deps.env ?? process.env).TEST_DATABASE_URL ??
          databaseUrlOf(deps, input.environment);
        const report = await withHeartbeat((heartbeat) =>
          testAllRollbacks(serverUrl, plan, {
            onProgress: (p) => heartbeat.update(p),
          }),
        );
        const failures = report.migrations
          .filter((m) => m.status === 'failed')
          .flatMap((m) =>
            m.differences.length ? m.differences : [`${m.version}: ${m.error ?? 'failed'}`],
          );
        return {
          passed: report.passed,
          tested: report.migrations.length,
          failures: failures.slice(0, 30),
          durationMs: Math.round(report.durationMs),
        };
      });
    },
  };
}
