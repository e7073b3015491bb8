/**
 * Setup file of every test file: once the file is done, the environment leases it left running
 * are terminated. Each file's workers (in-process or `pgshift worker` processes) poll task
 * queues of their own, but environments are named alike (`staging`, `production`): a lease left
 * on a task queue that nobody polls any more would never grant the next file's requests.
 */
import { Client, Connection } from '@temporalio/client';
import { afterAll } from 'vitest';

afterAll(async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) return;
  const connection = await Connection.connect({ address }).catch(() => undefined);
  if (!connection) return;
  try {
    const client = new Client({
      connection,
      namespace: process.env.TEMPORAL_NAMESPACE || 'default',
    });
    const query = 'WorkflowType = "environmentLease" AND ExecutionStatus = "Running"';
    for await (const lease of client.workflow.list({ query }))
      await client.workflow
        .getHandle(lease.workflowId, lease.runId)
        .terminate('the test file that used it has finished')
        .catch(() => undefined);
  } catch {
    // Visibility not ready or the server gone: nothing left to end.
  } finally {
    await connection.close();
  }
});
