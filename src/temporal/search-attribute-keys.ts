import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The project's custom search attributes, importable by workflow code (no I/O here).
 * Values are stored unencrypted by Temporal: environment names, phases and checksums
 * only, never credentials.
 */
export const PgshiftEnvironment = defineSearchAttributeKey(
  'PgshiftEnvironment',
  SearchAttributeType.KEYWORD,
);
export const PgshiftPhase = defineSearchAttributeKey('PgshiftPhase', SearchAttributeType.KEYWORD);
export const PgshiftWorkflowKind = defineSearchAttributeKey(
  'PgshiftWorkflowKind',
  SearchAttributeType.KEYWORD,
);
export const PgshiftPlanChecksum = defineSearchAttributeKey(
  'PgshiftPlanChecksum',
  SearchAttributeType.KEYWORD,
);
export const PgshiftInitiator = defineSearchAttributeKey(
  'PgshiftInitiator',
  SearchAttributeType.KEYWORD,
);
