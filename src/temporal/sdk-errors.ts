/**
 * `error instanceof WorkflowFailedError` (and the SDK's other errors) without loading
 * @temporalio/client: the SDK marks each error class with `Symbol.for('__temporal_is<Name>')`
 * and its `instanceof` checks exactly that marker, so this is the same test. Lets the CLI
 * register its commands (`pgshift --help`) without the SDK's ~0.5 s of module loading.
 */
export type TemporalErrorName =
  | 'WorkflowFailedError'
  | 'WorkflowNotFoundError'
  | 'WorkflowUpdateFailedError'
  | 'WorkflowExecutionAlreadyStartedError'
  | 'ServiceError';

export function isTemporalError<T = Error & { cause?: Error }>(
  error: unknown,
  name: TemporalErrorName,
): error is T {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as Record<symbol, unknown>)[Symbol.for(`__temporal_is${name}`)] === true
  );
}
