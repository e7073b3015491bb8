import { readFileSync } from 'node:fs';
// Type-only: the SDK (~0.5 s to load) is required when a connection is made, not when the
// CLI merely registers its commands (`pgshift --help`).
import type { Client, Connection, TLSConfig } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { ConnectionError, UsageError } from '../errors';
import { isPortOpen, splitAddress } from './port-probe';

export const DEFAULT_TEMPORAL_ADDRESS = 'localhost:7233';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_WEB_UI = 'http://localhost:8233';

/** Where and how to reach Temporal, from the environment (no credentials in messages). */
export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

function readFileFor(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(
      `${variable}=${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): point it at a PEM file`,
    );
  }
}

/**
 * `TEMPORAL_ADDRESS` (localhost:7233), `TEMPORAL_NAMESPACE` (default); mTLS with
 * `TEMPORAL_TLS_CERT` + `TEMPORAL_TLS_KEY` (optional `TEMPORAL_TLS_CA`,
 * `TEMPORAL_TLS_SERVER_NAME`); Temporal Cloud with `TEMPORAL_API_KEY` (enables TLS).
 */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS?.trim() || DEFAULT_TEMPORAL_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE;
  const settings: TemporalSettings = { address, namespace };
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (Boolean(cert) !== Boolean(key))
    throw new UsageError(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both (mTLS) or neither',
    );
  if (cert && key) {
    settings.tls = {
      clientCertPair: {
        crt: readFileFor('TEMPORAL_TLS_CERT', cert),
        key: readFileFor('TEMPORAL_TLS_KEY', key),
      },
      ...(env.TEMPORAL_TLS_CA
        ? { serverRootCACertificate: readFileFor('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA) }
        : {}),
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    };
  }
  if (env.TEMPORAL_API_KEY) {
    settings.apiKey = env.TEMPORAL_API_KEY;
    settings.tls ??= true;
  }
  return settings;
}

/** The one line printed when Temporal cannot be reached. */
export function unreachableError(address: string, cause?: unknown): ConnectionError {
  const reason =
    cause instanceof Error && cause.message ? ` (${cause.message.split('\n')[0]})` : '';
  return new ConnectionError(
    `cannot reach the Temporal server at ${address}${reason}: start one with \`pgshift dev\` or set TEMPORAL_ADDRESS to a running cluster`,
  );
}

/** Fails fast with the one-line ConnectionError when nothing listens on the address. */
async function assertReachable(address: string): Promise<void> {
  const { host, port } = splitAddress(address);
  if (!(await isPortOpen(host, port, 3000))) throw unreachableError(address);
}

/** A client connection (start, signal, query, visibility) from the environment. */
export async function connectClient(overrides: Partial<TemporalSettings> = {}): Promise<Client> {
  const settings = { ...temporalSettingsFromEnv(), ...overrides };
  await assertReachable(settings.address);
  const { Client, Connection } = await import('@temporalio/client');
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
      connectTimeout: '10s',
    });
  } catch (error) {
    throw unreachableError(settings.address, error);
  }
  return new Client({ connection, namespace: settings.namespace });
}

/** The worker's native connection from the environment. */
export async function connectWorker(
  overrides: Partial<TemporalSettings> = {},
): Promise<{ connection: NativeConnection; namespace: string; address: string }> {
  const settings = { ...temporalSettingsFromEnv(), ...overrides };
  await assertReachable(settings.address);
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    const connection = await NativeConnection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
    });
    return { connection, namespace: settings.namespace, address: settings.address };
  } catch (error) {
    throw unreachableError(settings.address, error);
  }
}

/** Base URL of the Temporal Web UI: `PGSHIFT_WEB_UI`, or http://localhost:8233. */
export function webUiBase(env: NodeJS.ProcessEnv = process.env): string {
  return (env.PGSHIFT_WEB_UI?.trim() || DEFAULT_WEB_UI).replace(/\/+$/, '');
}

/** Link to a workflow's history in the Web UI (the latest run when `runId` is absent). */
export function webUiLink(
  workflowId: string,
  runId?: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const namespace = env.TEMPORAL_NAMESPACE?.trim() || DEFAULT_NAMESPACE;
  const base = `${webUiBase(env)}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
