import { describe, expect, it } from 'vitest';
import {
  approvalPayloadSchema,
  DEFAULT_TASK_QUEUE,
  deployWorkflowId,
  emergencyRollbackInputSchema,
  environmentLockId,
  productionDeployInputSchema,
  rehearsalWorkflowId,
  incidentIdFor,
  WORKFLOW_TYPES,
} from '../../workflows/definitions';

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
