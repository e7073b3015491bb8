import { readFileSync } from 'node:fs';
import { environmentConfig, loadConfig, resolveDatabaseUrl } from '../../config';
import { UsageError } from '../../errors';
import type { RowCounts } from '../../verify';
import { runVerification, type VerificationResult } from '../../verify/run-verification';
import { emit, type GlobalOptions } from '../output';

export interface VerifyOptions extends GlobalOptions {
  env: string;
  config?: string;
  baseline?: string;
}

/** Row counts from an earlier `pgshift verify --json` (its `rowCounts`), or a plain `{ table: n }`. */
function readBaseline(path: string): RowCounts {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `--baseline ${path} cannot be read as JSON (${(error as Error).message.split('\n')[0]}): pass the output of \`pgshift verify --json\` taken before the deploy`,
    );
  }
  const counts = (data as { rowCounts?: unknown })?.rowCounts ?? data;
  if (!counts || typeof counts !== 'object' || Array.isArray(counts))
    throw new UsageError(
      `--baseline ${path} has no rowCounts object: pass the output of \`pgshift verify --json\``,
    );
  return counts as RowCounts;
}

export function formatVerification(result: VerificationResult): string {
  const lines = [`Post-deployment verification of ${result.environment}:`];
  for (const check of result.checks) {
    const latency = check.latencyMs !== undefined ? ` (${check.latencyMs} ms)` : '';
    lines.push(`  ${check.ok ? '✓' : '✗'} ${check.name}${latency} — ${check.detail}`);
  }
  const failed = result.checks.filter((c) => !c.ok).length;
  lines.push(
    failed
      ? `${failed} of ${result.checks.length} checks FAILED: consider \`scripts/emergency-rollback.sh\``
      : `all ${result.checks.length} checks passed`,
  );
  return lines.join('\n');
}

/** `pgshift verify`: exit 1 when any check fails. */
export async function verify(opts: VerifyOptions): Promise<number> {
  const config = loadConfig({ path: opts.config });
  const settings = environmentConfig(config, opts.env);
  const url = resolveDatabaseUrl(config, opts.env);
  const baselineRowCounts = opts.baseline ? readBaseline(opts.baseline) : undefined;
  const result = await runVerification(settings, url, { baselineRowCounts });
  emit(opts, result, formatVerification);
  return result.ok ? 0 : 1;
}
