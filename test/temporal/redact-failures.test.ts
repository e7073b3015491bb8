import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import { closeTestEnv, startTestWorker } from '../support/temporal';
import { approveSignal, waitForApproval } from './fixtures/workflows';

const FIXTURE_WORKFLOWS = join(__dirname, 'fixtures', 'workflows.ts');

describe('activity failures leaving the worker', () => {
  afterAll(async () => {
    await closeTestEnv();
  });

  it('carry no password, connection string or PostgreSQL row data into history', async () => {
    const pgError = Object.assign(
      new Error('could not connect to postgres://app:hunter22@db.internal:5432/app'),
      { detail: 'Key (email)=(alice@example.com) already exists.' },
    );
    const worker = await startTestWorker(
      {
        async recordApproval(): Promise<string> {
          throw ApplicationFailure.create({
            message: 'apply failed on host=db user=app password=hunter22',
            type: 'MigrationExecutionError',
            nonRetryable: true,
            details: [{ databaseUrl: 'postgresql://app:p@ss/w0rd@db.internal/app' }],
            cause: pgError,
          });
        },
      },
      { workflowsPath: FIXTURE_WORKFLOWS },
    );
    try {
      const handle = await worker.env.client.workflow.start(waitForApproval, {
        taskQueue: worker.taskQueue,
        workflowId: `redact-failures-${Date.now()}`,
        args: ['change-1'],
      });
      await handle.signal(approveSignal, 'alice');
      await expect(handle.result()).rejects.toThrow();
      const history = JSON.stringify(await handle.fetchHistory());
      expect(history).toContain('apply failed on host=db user=app password=***');
      expect(history).toContain('postgres://app:***@db.internal:5432/app');
      for (const secret of ['hunter22', 'p@ss/w0rd', 'w0rd', 'alice@example.com'])
        expect(history).not.toContain(secret);
    } finally {
      await worker.stop();
    }
  });
});
