import type { Client } from '@temporalio/client';
import { connectClient } from '../src/temporal/connection';

/** A Temporal client for activities: given, made on demand, or (default) from TEMPORAL_*. */
export type TemporalClientSource = Client | (() => Promise<Client>);

/**
 * The client of `source` (default: `connectClient()`), made on first use and kept; a failed
 * connection is tried again on the next use.
 */
export function lazyTemporalClient(source?: TemporalClientSource): () => Promise<Client> {
  let client: Promise<Client> | undefined;
  return () => {
    client ??= (
      typeof source === 'function' ? source() : source ? Promise.resolve(source) : connectClient()
    ).catch((error) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}
