import { describe, expect, it } from 'vitest';
import {
  approvalPayloadSchema,
  DEFAULT_TASK_QUEUE,
  deployWorkflowId,
  emergencyRollbackInputSchema,
  emergencyRollbackResultSchema,
  environmentLockId,
  productionDeployInputSchema,
  productionDeployResultSchema,
  stagingRehearsalResultSchema,
  rehearsalWorkflowId,
  incidentIdFor,
  WORKFLOW_TYPES,
} from '../../workflows/definitions';
import { ApplicationFailure } from '@temporalio/common';
import { parseResult, UnexpectedResultError } from '../../src/cli/workflow-runs';
import { parseWorkflowInput } from '../../workflows/text';

const CHECKSUM = '3f2a9c1b7d4e' + '0'.repeat(52);

const plan = {
  checksum: CHECKSUM,
  migrations: [
    {
      version: 1,
      name: 'create_events',
      forward: {
        file: '001_create_events.sql',
        sql: 'CREATE TABLE events ();',
        checksum: 'a'.repeat(64),
        header: {
          migration: '001_create_events.sql',
          description: 'd',
          author: 'a',
          date: '2025-01-01',
        },
        transactional: true,
      },
      rollback: {
        file: '001_rollback.sql',
        sql: 'DROP TABLE events;',
        checksum: 'b'.repeat(64),
        header: {
          rollback: '001_rollback.sql',
          reverses: '001_create_events.sql',
          author: 'a',
          date: '2025-01-01',
        },
        transactional: true,
      },
      highRisk: false,
    },
  ],
};

describe('workflow names and ids', () => {
  it('names workflow types, the task queue and ids by environment and plan', () => {
    expect(DEFAULT_TASK_QUEUE).toBe('pgshift');
    expect(WORKFLOW_TYPES.productionDeploy).toBe('productionDeploy');
    expect(rehearsalWorkflowId('staging', CHECKSUM)).toBe('rehearsal-staging-3f2a9c1b7d4e');
    expect(deployWorkflowId('production', CHECKSUM)).toBe('deploy-production-3f2a9c1b7d4e');
    expect(environmentLockId('production')).toBe('pgshift-lock-production');
    expect(incidentIdFor('production', Date.parse('2025-01-02T03:04:05.678Z'))).toBe(
      'rollback-production-20250102T030405Z',
    );
  });
});

describe('workflow input schemas', () => {
  it('accepts a deploy input carrying the plan files and fills options', () => {
    const input = productionDeployInputSchema.parse({
      environment: 'production',
      plan,
      initiator: 'erin',
    });
    expect(input.options).toEqual({});
    expect(input.plan.migrations[0].forward.sql).toBe('CREATE TABLE events ();');
  });

  it('accepts a deploy input carrying the plan reference of the plan store (checksums, no SQL)', () => {
    const reference = {
      checksum: CHECKSUM,
      migrations: plan.migrations.map(({ version, name, forward, rollback, highRisk }) => ({
        version,
        name,
        forward: { file: forward.file, checksum: forward.checksum, transactional: true },
        rollback: { file: rollback.file, checksum: rollback.checksum, transactional: true },
        highRisk,
      })),
    };
    const input = productionDeployInputSchema.parse({
      environment: 'production',
      plan: reference,
      initiator: 'erin',
    });
    expect(input.plan).toEqual(reference);
    const noChecksum = productionDeployInputSchema.safeParse({
      environment: 'production',
      plan: {
        ...reference,
        migrations: [
          { ...reference.migrations[0], forward: { file: 'x.sql', transactional: true } },
        ],
      },
      initiator: 'erin',
    });
    expect(noChecksum.error?.issues[0].path).toEqual([
      'plan',
      'migrations',
      0,
      'forward',
      'checksum',
    ]);
  });

  it('keeps plan fields added to the types later', () => {
    const extended = { ...plan, migrations: [{ ...plan.migrations[0], estimatedRows: 10 }] };
    const input = productionDeployInputSchema.parse({
      environment: 'production',
      plan: extended,
      initiator: 'erin',
    });
    expect((input.plan.migrations[0] as unknown as { estimatedRows: number }).estimatedRows).toBe(
      10,
    );
  });

  it('refuses a plan whose checksum is not a sha256', () => {
    const result = productionDeployInputSchema.safeParse({
      environment: 'production',
      plan: { ...plan, checksum: 'nope' },
      initiator: 'erin',
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['plan', 'checksum']);
  });

  it('accepts the guide rollback flags as an input', () => {
    expect(
      emergencyRollbackInputSchema.parse({
        environment: 'production',
        initiator: 'carol',
        mode: 'migration',
        migrationTarget: 8,
        breakGlass: { reason: 'checkout down' },
      }),
    ).toMatchObject({ migrationTarget: 8 });
    expect(
      emergencyRollbackInputSchema.safeParse({
        environment: 'production',
        initiator: 'c',
        severity: 'P7',
      }).success,
    ).toBe(false);
  });

  it('accepts a plan checksum prefix of 8 or more hex digits in an approval', () => {
    expect(
      approvalPayloadSchema.safeParse({
        role: 'devops',
        approver: 'carol',
        planChecksum: '3f2a9c1b',
      }).success,
    ).toBe(true);
    expect(
      approvalPayloadSchema.safeParse({ role: 'devops', approver: 'carol', planChecksum: '3f2a' })
        .success,
    ).toBe(false);
  });
});

describe('durations in workflow inputs', () => {
  it('refuses a malformed deploy window before the workflow starts anything', () => {
    const result = productionDeployInputSchema.safeParse({
      environment: 'production',
      plan,
      initiator: 'erin',
      options: { monitoringWindow: 'ten minutes', approvalExpiry: '0s' },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual([
      'options.monitoringWindow',
      'options.approvalExpiry',
    ]);
  });

  it('refuses a malformed watch window of an emergency rollback', () => {
    const result = emergencyRollbackInputSchema.safeParse({
      environment: 'production',
      initiator: 'carol',
      mode: 'migration',
      options: { watchWindow: '5 mins' },
    });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['options', 'watchWindow']);
    expect(result.error?.issues[0].message).toMatch(/invalid duration/);
  });
});

describe('workflow result schemas', () => {
  const steps = [{ name: 'validate', status: 'completed' as const }];

  it('read a deploy result with every field the workflow returns', () => {
    const result = {
      finalState: 'rolled-back',
      environment: 'production',
      planChecksum: CHECKSUM,
      reason: 'migration failure: boom',
      steps,
      fromVersion: 3,
      toVersion: 3,
      targetVersion: 5,
      backupId: 'deploy-production-3f2a9c1b7d4e-backup',
      trigger: 'migration-failure',
      compensation: 'rolled back to version 3',
      appVersionBefore: '1.0.0',
      highRisk: false,
      reportPath: '/tmp/report.md',
    };
    expect(productionDeployResultSchema.parse(result)).toEqual(result);
  });

  it('refuse a field no workflow declares', () => {
    const rehearsal = {
      finalState: 'passed',
      environment: 'staging',
      planChecksum: CHECKSUM,
      criteria: [],
      steps,
      fromVersion: 0,
      toVersion: 5,
    };
    expect(stagingRehearsalResultSchema.parse(rehearsal)).toEqual(rehearsal);
    const extra = stagingRehearsalResultSchema.safeParse({ ...rehearsal, surprise: 1 });
    expect(extra.success).toBe(false);
    expect(extra.error?.issues[0].code).toBe('unrecognized_keys');
  });

  it('read the environment status of a status-only rollback', () => {
    const result = {
      finalState: 'completed',
      environment: 'production',
      type: 'status-only',
      steps,
      durationMs: 12,
      status: {
        migration: { currentVersion: 5, appliedCount: 5 },
        appVersion: null,
        backups: [
          { id: 'b1', createdAt: '2026-01-01T00:00:00Z', sizeBytes: 10, currentVersion: 5 },
        ],
        deployments: [{ workflowId: 'deploy-production-1', kind: 'deploy', status: 'completed' }],
        lastSuccessfulDeploy: null,
      },
    };
    expect(emergencyRollbackResultSchema.parse(result)).toEqual(result);
  });
});

describe('reading through a contract', () => {
  it('refuses a malformed workflow input for good, naming every bad key', () => {
    const read = () =>
      parseWorkflowInput(
        productionDeployInputSchema,
        { environment: 'production', plan, options: { monitoringWindow: 'soon' } },
        'productionDeploy',
      );
    expect(read).toThrow(ApplicationFailure);
    try {
      read();
    } catch (error) {
      const failure = error as ApplicationFailure;
      expect(failure.type).toBe('InvalidInput');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toMatch(/^invalid productionDeploy input: /);
      expect(failure.message).toContain('initiator: ');
      expect(failure.message).toContain('options.monitoringWindow: ');
    }
  });

  it('tells the CLI user that a result outside the contract means CLI and worker differ', () => {
    const result = { finalState: 'passed', environment: 'staging', planChecksum: CHECKSUM };
    const read = () =>
      parseResult('rehearse-staging-3f2a9c1b7d4e', stagingRehearsalResultSchema, {
        ...result,
        surprise: 1,
      });
    expect(read).toThrow(UnexpectedResultError);
    expect(read).toThrow(/the result of rehearse-staging-3f2a9c1b7d4e does not match its contract/);
    expect(read).toThrow(/result: Unrecognized key: "surprise"/);
    expect(read).toThrow(/are the pgshift CLI and the worker the same version\?/);
  });
});
