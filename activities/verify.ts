import { withClient } from '../src/migrations/database';
import { testAllRollbacks } from '../src/migrations/rollback-test';
import type { PlanArgument } from '../src/migrations/types';
import { resolvePlan } from './plan-store';
import {
  checkDatabase,
  checkHttpHealth,
  compareRowCounts,
  countRows,
  measureBaseline,
  runSqlChecks,
  sampleMetrics,
  type Baseline,
  type MetricsSample,
  type RowCounts,
} from '../src/verify';
import { compareWithSchemaSnapshot, saveSchemaSnapshot } from '../src/records/schema-snapshots';
import { withHeartbeat } from './heartbeat';
import { asActivity, databaseUrlOf, settingsOf, type ActivityDeps } from './deps';

export interface CheckOutcome {
  name: string;
  kind: 'database' | 'row-counts' | 'sql' | 'http';
  ok: boolean;
  detail: string;
  latencyMs?: number;
}

export interface VerificationReport {
  environment: string;
  ok: boolean;
  checks: CheckOutcome[];
  rowCounts: RowCounts;
}

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
    async captureRowCounts(input: { environment: string }): Promise<RowCounts> {
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
    async verifyEnvironment(input: {
      environment: string;
      baselineRowCounts?: RowCounts;
      skipHttp?: boolean;
    }): Promise<VerificationReport> {
      return asActivity(() =>
        withHeartbeat(async () => {
          const settings = settingsOf(deps, input.environment);
          const url = databaseUrlOf(deps, input.environment);
          const checks: CheckOutcome[] = [];
          const db = await checkDatabase(url);
          checks.push({
            name: 'SELECT 1',
            kind: 'database',
            ok: db.ok,
            detail: db.ok
              ? `database answered in ${Math.round(db.latencyMs)} ms`
              : (db.error ?? 'failed'),
            latencyMs: db.latencyMs,
          });
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
          if (db.ok && settings.checks.length)
            for (const result of await runSqlChecks(url, settings.checks))
              checks.push({
                name: result.name,
                kind: 'sql',
                ok: result.ok,
                detail: result.ok ? `${result.rowCount} rows` : (result.detail ?? 'failed'),
                latencyMs: result.durationMs,
              });
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
    async measureBaseline(input: { environment: string; tables?: string[] }): Promise<Baseline> {
      return asActivity(() => measureBaseline(metricsTarget(input.environment, input.tables)));
    },

    /** One observation of the monitoring window; the workflow judges it with evaluateThresholds. */
    async sampleMetrics(input: { environment: string; tables?: string[] }): Promise<MetricsSample> {
      return asActivity(() => sampleMetrics(metricsTarget(input.environment, input.tables)));
    },

    /** Stores the live schema under a label (e.g. `v5`) for later comparison. */
    async captureSchema(input: {
      environment: string;
      workflowId: string;
      label: string;
    }): Promise<{ digest: string; objects: number }> {
      return asActivity(() =>
        withClient(databaseUrlOf(deps, input.environment), (client) =>
          saveSchemaSnapshot(client, input.workflowId, input.label),
        ),
      );
    },

    /** Does the live schema equal the one stored under `label`? Differences in words. */
    async compareSchema(input: {
      environment: string;
      workflowId: string;
      label: string;
    }): Promise<{ matches: boolean; differences: string[] }> {
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
    async runRollbackTests(input: { environment: string; plan: PlanArgument }): Promise<{
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
