import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import {
  PgshiftEnvironment,
  PgshiftInitiator,
  PgshiftPhase,
  PgshiftPlanChecksum,
  PgshiftWorkflowKind,
} from '../temporal/search-attribute-keys';

/** The search attributes pgshift sets on every run, by the field of a run each one fills. */
const RUN_ATTRIBUTE_KEYS = {
  environment: PgshiftEnvironment,
  kind: PgshiftWorkflowKind,
  phase: PgshiftPhase,
  initiator: PgshiftInitiator,
  planChecksum: PgshiftPlanChecksum,
} as const;

export type RunAttributes = { [field in keyof typeof RUN_ATTRIBUTE_KEYS]?: string };

const FIELDS = Object.keys(RUN_ATTRIBUTE_KEYS) as (keyof typeof RUN_ATTRIBUTE_KEYS)[];

/** A run's pgshift search attributes, as `pgshift status` and `pgshift list` show them. */
export function readRunAttributes(typed: Pick<TypedSearchAttributes, 'get'>): RunAttributes {
  const read = (field: keyof typeof RUN_ATTRIBUTE_KEYS) => {
    const value = typed.get(RUN_ATTRIBUTE_KEYS[field]);
    return typeof value === 'string' ? value : undefined;
  };
  return Object.fromEntries(FIELDS.map((field) => [field, read(field)])) as RunAttributes;
}

/** The attributes to start a run with (`typedSearchAttributes`); an undefined value is left out. */
export function runAttributePairs(values: RunAttributes): SearchAttributePair[] {
  return FIELDS.filter((field) => values[field] !== undefined).map((field) => ({
    key: RUN_ATTRIBUTE_KEYS[field],
    value: values[field]!,
  }));
}
