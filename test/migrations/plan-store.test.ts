import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import type { PlanValidation } from '../../activities/plan';
import { generateMigrations, writeGuideFormat } from '../../bench/generate-migrations';
import { parseConfig } from '../../src/config';
import { PlanStoreError } from '../../src/migrations/errors';
import { loadPlan, planChecksum } from '../../src/migrations/files';
import { planArgument, toPlanRef } from '../../src/migrations/plan-ref';
import { PlanStore } from '../../src/migrations/plan-store';
import type { MigrationPlan } from '../../src/migrations/types';

const SHIPPED = resolve(__dirname, '../../migrations');

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

let plan: MigrationPlan;
let dir: string;
let store: PlanStore;
beforeAll(async () => {
  plan = await loadPlan(SHIPPED);
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgshift-plan-store-'));
  store = new PlanStore(join(dir, 'plans'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('plan store', () => {
  it('stores every file once, named by its sha256, and the plan reference by the plan checksum', async () => {
    const ref = await store.storePlan(plan);
    expect(ref).toEqual(toPlanRef(plan));
    // Flags at their default are left out of the reference; the others are kept.
    expect(JSON.stringify(ref)).not.toMatch(/"transactional":true|"highRisk":false/);
    expect(ref.migrations.filter((m) => m.highRisk).map((m) => m.version)).toEqual(
      plan.migrations.filter((m) => m.highRisk).map((m) => m.version),
    );
    const files = filesUnder(store.directory);
    const checksums = new Set(
      plan.migrations.flatMap((m) => [m.forward.checksum, m.rollback.checksum]),
    );
    expect(files).toEqual(
      [
        ...[...checksums].map((c) => `files/${c.slice(0, 2)}/${c}.sql`),
        `plans/${plan.checksum}.json`,
      ].sort(),
    );
    const first = plan.migrations[0].forward;
    expect(readFileSync(store.filePath(first.checksum), 'utf8')).toBe(first.sql);
  });

  it('writes a stored file only once: storing the plan again changes nothing', async () => {
    await store.storePlan(plan);
    const path = store.filePath(plan.migrations[0].forward.checksum);
    const before = statSync(path).mtimeMs;
    await store.storePlan(plan);
    expect(statSync(path).mtimeMs).toBe(before);
    expect(filesUnder(store.directory).some((f) => f.endsWith('.tmp'))).toBe(false);
  });

  it('loads the plan back by its checksum, with flags and headers derived from the SQL', async () => {
    await store.storePlan(plan);
    expect(await new PlanStore(store.directory).loadPlan(plan.checksum)).toEqual(plan);
  });

  it('refuses a file altered in the store, naming its checksum and where it is', async () => {
    await store.storePlan(plan);
    const file = plan.migrations[2].rollback;
    writeFileSync(store.filePath(file.checksum), file.sql + '\nDROP TABLE customers;\n');
    const error = await store.loadPlan(plan.checksum).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanStoreError);
    expect((error as PlanStoreError).checksum).toBe(file.checksum);
    expect((error as Error).message).toContain(
      `the plan store file ${store.filePath(file.checksum)} (${file.file} of plan ${plan.checksum.slice(0, 12)}) does not match its checksum ${file.checksum}`,
    );
  });

  it('refuses a missing file, naming the file, its checksum and the store', async () => {
    await store.storePlan(plan);
    const file = plan.migrations[4].forward;
    unlinkSync(store.filePath(file.checksum));
    await expect(store.loadPlan(plan.checksum)).rejects.toThrow(
      `the plan store ${store.directory} has no ${file.file} of plan ${plan.checksum.slice(0, 12)}, sha256 ${file.checksum}`,
    );
  });

  it('refuses a plan it does not hold, naming the plan checksum and the store', async () => {
    const missing = 'a'.repeat(64);
    const error = await store.loadPlan(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanStoreError);
    expect((error as Error).message).toMatch(
      new RegExp(`^the plan store ${store.directory} has no plan ${missing} \\(`),
    );
  });

  it('refuses a reference whose flags were altered, even with a recomputed plan checksum', async () => {
    await store.storePlan(plan);
    const high = plan.migrations.find((m) => m.highRisk)!;
    const ref = toPlanRef(plan);
    ref.migrations.find((m) => m.version === high.version)!.highRisk = false;
    // The stored reference is not trusted either: the flags come from the SQL again.
    const path = store.planPath(plan.checksum);
    writeFileSync(path, JSON.stringify(ref));
    await expect(store.loadPlan(plan.checksum)).resolves.toEqual(plan);
    const forged = structuredClone(plan);
    forged.migrations.find((m) => m.version === high.version)!.highRisk = false;
    ref.checksum = planChecksum(forged.migrations);
    await expect(store.hydrate(ref)).rejects.toThrow(
      `does not match plan checksum ${ref.checksum} (its files and flags hash to ${plan.checksum})`,
    );
  });
});

describe('plan argument of an activity call', () => {
  it('is the checksum alone for a stored plan, the whole plan for an input that carries the SQL', () => {
    expect(planArgument(toPlanRef(plan))).toEqual({ checksum: plan.checksum });
    expect(planArgument(plan)).toBe(plan);
  });

  it('makes the activities load and verify the plan from the store', async () => {
    await store.storePlan(plan);
    const activities = createActivities({
      config: parseConfig({ plansDir: store.directory }, null),
    });
    const env = new MockActivityEnvironment();
    const validation = await env.run(activities.validatePlan, {
      plan: { checksum: plan.checksum },
    });
    expect(validation).toMatchObject({
      planChecksum: plan.checksum,
      migrations: plan.migrations.length,
      highRisk: true,
    });
    unlinkSync(store.filePath(plan.migrations[0].forward.checksum));
    await expect(
      env.run(activities.validatePlan, { plan: { checksum: plan.checksum } }),
    ).rejects.toThrow(/^the plan store .* has no 001_create_customers\.sql of plan/);
  });
});

describe('validation of a large plan in the worker', () => {
  it('validates 3,000 generated migrations from the store while the event loop stays free: heartbeats keep coming, no timer waits 2 s', async () => {
    const generated = await loadPlan(
      writeGuideFormat(join(dir, 'generated'), generateMigrations(3000)),
    );
    await store.storePlan(generated);
    const activities = createActivities({
      config: parseConfig({ plansDir: store.directory }, null),
    });
    // A beat every 200 ms: a gap between two beats is a time the event loop was not free.
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 600 });
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(performance.now()));
    const delay = monitorEventLoopDelay({ resolution: 20 });
    delay.enable();
    const validation: PlanValidation = await env.run(activities.validatePlan, {
      plan: { checksum: generated.checksum },
    });
    delay.disable();
    expect(validation).toMatchObject({
      planChecksum: generated.checksum,
      migrations: 3000,
      errors: [],
      highRisk: false,
    });
    expect(validation.touchedTables).toHaveLength(20);
    // Before: the dependency walk alone held the event loop for 11 s at this size (30 s at 5,000).
    const longestBlockMs = delay.max / 1e6;
    const gaps = beats.slice(1).map((at, i) => at - beats[i]);
    expect(beats.length).toBeGreaterThan(5);
    expect(longestBlockMs).toBeLessThan(2_000);
    expect(Math.max(...gaps)).toBeLessThan(2_200);
  });
});
