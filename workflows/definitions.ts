/**
 * The one shared vocabulary of pgshift's workflows, re-exported from one contract file per
 * workflow (`contracts/`): names, ids, signals, queries, updates, the zod schemas of their
 * payloads, and workflow inputs and results. Imported by the workflows (inside the Temporal
 * sandbox) and by clients (CLI, tests), so the contracts import only `@temporalio/workflow`,
 * `zod` and types. Nothing here may carry a credential: environments travel by NAME.
 */
export * from './contracts/names';
export * from './contracts/plan';
export * from './contracts/approvals';
export * from './contracts/progress';
export * from './contracts/durations';
export * from './contracts/rehearsal';
export * from './contracts/deploy';
export * from './contracts/emergency-rollback';
export * from './contracts/archive';
export * from './contracts/lease';
export * from './contracts/lock-wait';
