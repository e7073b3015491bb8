import { describe, expect, it } from 'vitest';
import { buildListQuery, describeHeartbeat } from '../../src/cli/run-inspect';
import { formatDuration } from '../../src/cli/run-view';
import { assertWorkflowInputSize } from '../../src/cli/workflow-runs';

describe('progress of a long activity from its heartbeat details', () => {
  it('shows a migration run as the file and its position', () => {
    expect(
      describeHeartbeat({
        phase: 'start',
        direction: 'up',
        version: 7,
        name: '007_add_region',
        index: 6,
        total: 200,
      }),
    ).toBe('apply 007_add_region (7/200)');
    expect(
      describeHeartbeat({
        phase: 'done',
        direction: 'down',
        version: 7,
        name: '007_add_region',
        index: 0,
        total: 2,
      }),
    ).toBe('revert 007_add_region (1/2, done)');
  });

  it('shows a migration waiting for a lock with the session it waits for', () => {
    expect(
      describeHeartbeat({
        phase: 'start',
        direction: 'up',
        version: 8,
        name: 'add_customer_note',
        index: 0,
        total: 1,
        lockWait: {
          what: '008_add_customer_note.sql',
          waitingForMs: 12_400,
          attempts: 0,
          blockers: [
            'pid 4711 (billing, idle in transaction for 3m12s) holding AccessShareLock on customers',
          ],
        },
      }),
    ).toBe(
      'apply add_customer_note (1/1), waiting 12s for pid 4711 (billing, idle in transaction for 3m12s) holding AccessShareLock on customers',
    );
  });

  it('shows a backup as its phase, bytes written and tables dumped', () => {
    expect(describeHeartbeat({ phase: 'dumping', bytes: 13_107_200, tables: 5 })).toBe(
      'dumping, 12.5 MB, 5 tables',
    );
  });

  it('shows nothing for details it does not understand', () => {
    expect(describeHeartbeat(undefined)).toBeUndefined();
    expect(describeHeartbeat({ foo: 1 })).toBeUndefined();
  });
});

describe('pgshift list query', () => {
  it('selects pgshift runs by kind, narrowed by environment and status', () => {
    expect(buildListQuery({})).toBe(
      'PgshiftWorkflowKind IN ("stagingRehearsal", "productionDeploy", "emergencyRollback", "archivePreservedDatabase")',
    );
    expect(
      buildListQuery({ environment: 'production', kind: 'productionDeploy', status: 'running' }),
    ).toBe(
      'PgshiftWorkflowKind = "productionDeploy" AND PgshiftEnvironment = "production" AND ExecutionStatus = "Running"',
    );
  });

  it('quotes values so a name cannot change the query', () => {
    expect(buildListQuery({ environment: 'x" OR "1"="1' })).toContain(
      'PgshiftEnvironment = "x\\" OR \\"1\\"=\\"1"',
    );
  });
});

describe('durations', () => {
  it('reads as a person would say them', () => {
    expect(formatDuration(4200)).toBe('4.2s');
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000)).toBe('2h 05m');
    expect(formatDuration(27 * 3600_000)).toBe('1d 3h');
  });
});

describe('workflow input size', () => {
  const plan = (count: number, sqlBytes: number) => ({
    checksum: '0'.repeat(64),
    migrations: Array.from({ length: count }, (_, i) => ({
      version: i + 1,
      forward: { sql: 'x'.repeat(sqlBytes) },
    })),
  });

  it('starts a plan of ordinary size', () => {
    expect(() =>
      assertWorkflowInputSize('productionDeploy', { plan: plan(200, 2000) }),
    ).not.toThrow();
  });

  it('refuses, before starting anything, an input over the 2 MB Temporal accepts for one payload', () => {
    expect(() => assertWorkflowInputSize('stagingRehearsal', { plan: plan(300, 8000) })).toThrow(
      /^the stagingRehearsal input is 2\.\d MB \(a plan of 300 migrations\), over Temporal's limit of 2 MB for one payload, .*: nothing was started$/,
    );
  });
});
