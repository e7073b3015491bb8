import { SearchAttributeType } from '@temporalio/common';
import {
  encodeSearchAttributeIndexedValueType,
  type SearchAttributeKey,
} from '@temporalio/common/lib/search-attributes';
import type { Connection } from '@temporalio/client';
import { UsageError } from '../errors';

import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftPhase,
  PgshiftPlanChecksum,
  PgshiftWorkflowKind,
} from './search-attribute-keys';

export {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftPhase,
  PgshiftPlanChecksum,
  PgshiftWorkflowKind,
};
export type { SearchAttributeKey };

export const PGSHIFT_SEARCH_ATTRIBUTES: readonly SearchAttributeKey<SearchAttributeType>[] = [
  PgshiftEnvironment,
  PgshiftPhase,
  PgshiftWorkflowKind,
  PgshiftPlanChecksum,
  PgshiftInitiator,
];

/** The type as the `temporal` CLI spells it: KEYWORD → Keyword, KEYWORD_LIST → KeywordList. */
export function cliTypeName(type: SearchAttributeType): string {
  return type
    .toLowerCase()
    .split('_')
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

/** `--search-attribute Name=Type` pairs for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = PGSHIFT_SEARCH_ATTRIBUTES,
): string[] {
  return keys.flatMap((key) => ['--search-attribute', `${key.name}=${cliTypeName(key.type)}`]);
}

/**
 * The exact command an operator runs to create `keys` on a cluster: one `create` per
 * attribute (the CLI's `--type` is a single value), joined with `&&`; creating an existing
 * attribute of the same type is a no-op.
 */
export function searchAttributeCreateCommand(
  keys: readonly SearchAttributeKey<SearchAttributeType>[],
  namespace: string,
): string {
  return keys
    .map(
      (key) =>
        `temporal operator search-attribute create --namespace ${namespace} --name ${key.name} --type ${cliTypeName(key.type)}`,
    )
    .join(' && ');
}

/** Both the client `Connection` and the worker's `NativeConnection` have these services. */
export type TemporalServices = Pick<Connection, 'operatorService' | 'workflowService'>;

/** The keys of `keys` that the namespace does not have yet. */
export async function findMissingSearchAttributes(
  connection: TemporalServices,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = PGSHIFT_SEARCH_ATTRIBUTES,
): Promise<SearchAttributeKey<SearchAttributeType>[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.systemAttributes, ...existing.customAttributes };
  return keys.filter((key) => known[key.name] === undefined);
}

/** True for a `temporal server start-dev` server (SQLite persistence). */
export async function isDevServer(connection: TemporalServices): Promise<boolean> {
  const info = await connection.workflowService.getClusterInfo({});
  return /sqlite/i.test(`${info.persistenceStore ?? ''} ${info.visibilityStore ?? ''}`);
}

/** Adds `keys` to the namespace (operator API; not available on Temporal Cloud). */
export async function registerSearchAttributes(
  connection: TemporalServices,
  namespace: string,
  keys: readonly SearchAttributeKey<SearchAttributeType>[] = PGSHIFT_SEARCH_ATTRIBUTES,
): Promise<void> {
  if (keys.length === 0) return;
  const searchAttributes = Object.fromEntries(
    keys.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

export interface EnsureSearchAttributesResult {
  registered: string[];
}

/**
 * Makes sure the namespace has the project's search attributes: registers missing ones on
 * a dev server (or when `register` is true), otherwise throws a UsageError naming the
 * exact `temporal operator search-attribute create` command to run.
 */
export async function ensureSearchAttributes(
  connection: TemporalServices,
  namespace: string,
  options: { register?: boolean } = {},
): Promise<EnsureSearchAttributesResult> {
  const missing = await findMissingSearchAttributes(connection, namespace);
  if (missing.length === 0) return { registered: [] };
  const register = options.register ?? (await isDevServer(connection));
  if (!register) {
    throw new UsageError(
      `the Temporal namespace "${namespace}" lacks pgshift's search attributes (${missing
        .map((key) => key.name)
        .join(', ')}): create them with \`${searchAttributeCreateCommand(missing, namespace)}\``,
    );
  }
  await registerSearchAttributes(connection, namespace, missing);
  return { registered: missing.map((key) => key.name) };
}
