import { join } from 'node:path';
import { msToTs } from '@temporalio/common/lib/time';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../src/temporal/free-port';
import { ConnectionError, UsageError } from '../../src/errors';
import { connectClient, webUiLink } from '../../src/temporal/connection';
import {
  ensureSearchAttributes,
  findMissingSearchAttributes,
  PGSHIFT_SEARCH_ATTRIBUTES,
  PgshiftEnvironment,
} from '../../src/temporal/search-attributes';
import { closeTestEnv, startTestWorker, testEnv } from '../support/temporal';
import { approveSignal, waitForApproval } from './fixtures/workflows';
import { createFixtureActivities } from './fixtures/activities';

const fixtureWorkflows = join(__dirname, 'fixtures', 'workflows.ts');

afterAll(async () => {
  await closeTestEnv();
});

describe('the Temporal dev server started for the tests', () => {
  it('has pgshift’s search attributes registered', async () => {
    const env = await testEnv();
    const missing = await findMissingSearchAttributes(env.connection, env.namespace ?? 'default');
    expect(missing.map((key) => key.name)).toEqual([]);
    expect(PGSHIFT_SEARCH_ATTRIBUTES.map((key) => key.name)).toEqual([
      'PgshiftEnvironment',
      'PgshiftPhase',
      'PgshiftWorkflowKind',
      'PgshiftPlanChecksum',
      'PgshiftInitiator',
    ]);
  });
});

describe('createPgshiftWorker', () => {
  it('runs a workflow that waits for a signal and then calls an activity', async () => {
    const log: string[] = [];
    const worker = await startTestWorker(createFixtureActivities(log), {
      workflowsPath: fixtureWorkflows,
    });
    try {
      const handle = await worker.env.client.workflow.start(waitForApproval, {
        args: ['add column region'],
        taskQueue: worker.taskQueue,
        workflowId: `fixture-${worker.taskQueue}`,
        typedSearchAttributes: [{ key: PgshiftEnvironment, value: 'staging' }],
      });
      await handle.signal(approveSignal, 'alice');
      await expect(handle.result()).resolves.toBe('add column region approved by alice');
      expect(log).toEqual(['add column region approved by alice']);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(PgshiftEnvironment)).toBe('staging');
    } finally {
      await worker.stop();
    }
  });
});

describe('ensureSearchAttributes', () => {
  it('stops with the exact create command when a server lacks them and may not register', async () => {
    const env = await testEnv();
    const namespace = `pgshift-sa-${Date.now().toString(36)}`;
    await env.connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // wait until the new namespace is visible to the operator API
    await expect
      .poll(() => findMissingSearchAttributes(env.connection, namespace).then(() => true), {
        timeout: 30_000,
      })
      .toBe(true);

    const refusal = ensureSearchAttributes(env.connection, namespace, { register: false });
    await expect(refusal).rejects.toBeInstanceOf(UsageError);
    await expect(refusal).rejects.toThrow(
      [
        'PgshiftEnvironment',
        'PgshiftPhase',
        'PgshiftWorkflowKind',
        'PgshiftPlanChecksum',
        'PgshiftInitiator',
      ]
        .map(
          (name) =>
            `temporal operator search-attribute create --namespace ${namespace} --name ${name} --type Keyword`,
        )
        .join(' && '),
    );

    const result = await ensureSearchAttributes(env.connection, namespace);
    expect(result.registered).toHaveLength(5);
    expect(await findMissingSearchAttributes(env.connection, namespace)).toEqual([]);
  });
});

describe('connectClient', () => {
  it('fails with a one-line ConnectionError (exit 3) naming how to start a server', async () => {
    const port = await findFreePort();
    const attempt = connectClient({ address: `127.0.0.1:${port}` });
    await expect(attempt).rejects.toBeInstanceOf(ConnectionError);
    const error = (await attempt.catch((e: unknown) => e)) as ConnectionError;
    expect(error.exitCode).toBe(3);
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('pgshift dev');
    expect(error.message).toContain('TEMPORAL_ADDRESS');
  });

  it('connects to the test server from TEMPORAL_ADDRESS', async () => {
    const client = await connectClient();
    try {
      const info = await client.connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+/);
    } finally {
      await client.connection.close();
    }
  });
});

describe('webUiLink', () => {
  it('links to a run’s history in the Web UI', () => {
    const env = { PGSHIFT_WEB_UI: 'http://127.0.0.1:8233/', TEMPORAL_NAMESPACE: 'default' };
    expect(webUiLink('rehearse-staging-1', 'run-1', env)).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/rehearse-staging-1/run-1/history',
    );
    expect(webUiLink('rehearse-staging-1', undefined, {})).toBe(
      'http://localhost:8233/namespaces/default/workflows/rehearse-staging-1',
    );
  });
});
