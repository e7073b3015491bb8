import { writeFileSync } from 'node:fs';
import {
  configJsonSchema,
  loadConfig,
  type EnvironmentConfig,
  type PgshiftConfig,
} from '../../config';
import { emit, type GlobalOptions } from '../output';

export interface SchemaOptions extends GlobalOptions {
  out?: string;
}

export interface CheckOptions extends GlobalOptions {
  config?: string;
}

/** The JSON Schema as committed at the repository root (2-space JSON, final newline). */
export function configSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}

function describeEnvironment(env: EnvironmentConfig, vars: NodeJS.ProcessEnv): string[] {
  const urlState = vars[env.databaseUrlEnv] ? 'set' : 'NOT SET';
  const lines = [
    `  ${env.name}`,
    `    database URL from ${env.databaseUrlEnv} (${urlState}); lock_timeout ${env.lockTimeout}, statement_timeout ${env.statementTimeout}`,
  ];
  if (env.requireRehearsalFrom)
    lines.push(`    requires a passing rehearsal on ${env.requireRehearsalFrom}`);
  const roster = Object.entries(env.approvals.roster)
    .map(([role, people]) => `${role}: ${people.join(', ')}`)
    .join('; ');
  lines.push(
    `    approvals: ${env.approvals.requiredRoles.join(', ') || 'none'} (high risk adds ${env.approvals.highRiskRoles.join(', ') || 'nothing'}), expire after ${env.approvals.expiry}${roster ? `; roster ${roster}` : ''}`,
  );
  lines.push(
    `    health checks: ${env.healthChecks.map((h) => `${h.name} ${h.url}`).join(', ') || 'none'}`,
    `    critical tables: ${env.criticalTables.join(', ') || 'none'}; SQL checks: ${env.checks.map((c) => c.name).join(', ') || 'none'}`,
    `    monitoring ${env.monitoringWindow} every ${env.monitoringInterval}; thresholds: error rate > ${env.thresholds.errorRatePercent}%, response > ${env.thresholds.responseTimeMs} ms, connections > ${env.thresholds.dbConnectionsPercent}%, degradation > ${env.thresholds.performanceDegradationPercent}%`,
  );
  const hooks = [env.app.deploy && 'deploy', env.app.rollback && 'rollback'].filter(Boolean);
  if (hooks.length) lines.push(`    application hooks: ${hooks.join(', ')}`);
  return lines;
}

export function formatConfig(config: PgshiftConfig, vars: NodeJS.ProcessEnv = process.env): string {
  const names = Object.keys(config.environments);
  return [
    `${config.source ?? 'no config file (every setting by convention)'}: OK`,
    `  migrations ${config.migrationsDir}, reports ${config.reportsDir}, backups ${config.backupsDir}`,
    names.length
      ? 'Environments:'
      : 'No environments configured: any name works with defaults (URL from <NAME>_DATABASE_URL).',
    ...names.flatMap((name) => describeEnvironment(config.environments[name], vars)),
  ].join('\n');
}

/** `pgshift config schema`: print the JSON Schema, or write it to --out. */
export function printSchema(opts: SchemaOptions): void {
  const text = configSchemaText();
  if (opts.out) {
    writeFileSync(opts.out, text);
    emit(opts, { written: opts.out }, () => `wrote ${opts.out}`);
  } else process.stdout.write(text);
}

/** `pgshift config check`: the resolved environments, or every key error (exit 2). */
export function checkConfig(opts: CheckOptions): void {
  const loaded = loadConfig({ path: opts.config });
  emit(opts, loaded, (c) => formatConfig(c));
}
