import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAllowedSigners, type AllowedSigners } from '../approvals/allowed-signers';
import { ConfigError } from './errors';
import type { EnvironmentConfig, PgshiftConfig } from './schema';

/** `approvals.requireSignatures`, defaulting to true for a production tier, false otherwise. */
export function requiresSignatures(
  settings: Pick<EnvironmentConfig, 'tier'> & {
    approvals: { requireSignatures?: boolean };
  },
): boolean {
  return settings.approvals.requireSignatures ?? settings.tier === 'production';
}

/** A production-tier environment that requires signatures: changes need verified approvals. */
export function enforcesSignatures(settings: EnvironmentConfig): boolean {
  return settings.tier === 'production' && requiresSignatures(settings);
}

/** The absolute path of `approvals.allowedSigners` (relative to the config file), if set. */
export function allowedSignersPath(
  config: Pick<PgshiftConfig, 'source'>,
  settings: Pick<EnvironmentConfig, 'approvals'>,
  cwd: string = process.cwd(),
): string | undefined {
  const file = settings.approvals.allowedSigners;
  if (!file) return undefined;
  return resolve(config.source ? dirname(config.source) : cwd, file);
}

/**
 * Reads and parses an environment's (or a fleet's: `section` `fleets`) allowed-signers file.
 * None configured: no signers (every signed decision is refused as "not in the allowed
 * signers"). A configured file that is missing or malformed is a ConfigError naming the key and
 * the file:line.
 */
export function loadAllowedSigners(
  config: Pick<PgshiftConfig, 'source'>,
  settings: Pick<EnvironmentConfig, 'name' | 'approvals'>,
  cwd?: string,
  section: 'environments' | 'fleets' = 'environments',
): AllowedSigners & { file?: string } {
  const file = allowedSignersPath(config, settings, cwd);
  if (!file) return { signers: [], ignored: [] };
  const key = `${section}.${settings.name}.approvals.allowedSigners`;
  if (!existsSync(file))
    throw new ConfigError(
      `${file} does not exist (named by ${key}): create it with one line per approver, "<person> ssh-ed25519 AAAA…"`,
      [{ path: key, message: `${file} does not exist` }],
      config.source ?? undefined,
    );
  try {
    return { ...parseAllowedSigners(readFileSync(file, 'utf8'), file), file };
  } catch (error) {
    if (error instanceof Error && error.name === 'AllowedSignersError')
      throw new ConfigError(
        `${error.message}\n(named by ${key})`,
        [{ path: key, message: error.message }],
        config.source ?? undefined,
      );
    throw error;
  }
}
