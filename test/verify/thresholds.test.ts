import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  evaluateThresholds,
  type Baseline,
  type MetricsSample,
} from '../../src/verify/thresholds';

const baseline: Baseline = {
  healthLatencyMs: 100,
  healthLatencyByName: { api: 100 },
  probeLatencyMs: 40,
  at: '2025-01-01T00:00:00Z',
};

function sample(overrides: Partial<MetricsSample> = {}): MetricsSample {
  return {
    healthOk: true,
    dbOk: true,
    healthLatencyMs: 110,
    errorRatePercent: 0,
    errorRateSource: 'metrics',
    requestCount: 1,
    dbConnectionsPercent: 10,
    probeLatencyMs: 42,
    failures: [],
    at: '2025-01-01T00:01:00Z',
    ...overrides,
  };
}

const fresh = { consecutiveHealthFailures: 0 };
const triggersOf = (s: MetricsSample, history = fresh) =>
  evaluateThresholds(baseline, s, DEFAULT_THRESHOLDS, history).breached.map((b) => b.trigger);

describe('evaluateThresholds', () => {
  it('breaches nothing on a healthy sample close to the baseline', () => {
    expect(evaluateThresholds(baseline, sample(), DEFAULT_THRESHOLDS, fresh)).toEqual({
      breached: [],
      history: { consecutiveHealthFailures: 0 },
    });
  });

  it('declares critical functionality broken after N failed samples in a row, and resets on success', () => {
    const failed = sample({
      healthOk: false,
      healthLatencyMs: null,
      failures: ['health api: status 500, expected 2xx'],
    });
    let history = fresh;
    const seen: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const evaluation = evaluateThresholds(baseline, failed, DEFAULT_THRESHOLDS, history);
      history = evaluation.history;
      seen.push(evaluation.breached.map((b) => b.trigger));
    }
    expect(seen).toEqual([[], [], ['critical-functionality-broken']]);
    const broken = evaluateThresholds(baseline, failed, DEFAULT_THRESHOLDS, {
      consecutiveHealthFailures: 2,
    }).breached[0];
    expect(broken).toMatchObject({ severity: 'immediate' });
    expect(broken.detail).toMatch(/3 failed checks in a row.*status 500/);
    expect(evaluateThresholds(baseline, sample(), DEFAULT_THRESHOLDS, history).history).toEqual({
      consecutiveHealthFailures: 0,
    });
  });

  it('counts an unreachable database as a failed check', () => {
    expect(
      triggersOf(sample({ dbOk: false, probeLatencyMs: null }), { consecutiveHealthFailures: 2 }),
    ).toEqual(['critical-functionality-broken']);
  });

  it('flags performance degradation above 50% of the baseline latency', () => {
    expect(triggersOf(sample({ healthLatencyMs: 151 }))).toEqual(['performance-degradation']);
    expect(triggersOf(sample({ healthLatencyMs: 150 }))).toEqual([]);
    expect(triggersOf(sample({ probeLatencyMs: 100 }))).toEqual(['performance-degradation']);
  });

  it('ignores large relative increases of a few milliseconds', () => {
    const tiny: Baseline = { ...baseline, healthLatencyMs: 1, probeLatencyMs: 1 };
    expect(
      evaluateThresholds(
        tiny,
        sample({ healthLatencyMs: 4, probeLatencyMs: 3 }),
        DEFAULT_THRESHOLDS,
        fresh,
      ).breached,
    ).toEqual([]);
  });

  it('flags an error rate above 5% from the application metrics (P1)', () => {
    const evaluation = evaluateThresholds(
      baseline,
      sample({ errorRatePercent: 7.5 }),
      DEFAULT_THRESHOLDS,
      fresh,
    );
    expect(evaluation.breached).toEqual([
      {
        trigger: 'error-rate',
        severity: 'P1',
        detail: 'error rate 7.5% > 5% (application metrics)',
      },
    ]);
  });

  it('judges an error rate from health requests only with enough requests', () => {
    const few = sample({
      errorRatePercent: 50,
      errorRateSource: 'health-requests',
      requestCount: 2,
    });
    expect(triggersOf(few)).toEqual([]);
    expect(triggersOf({ ...few, requestCount: 20 })).toEqual(['error-rate']);
  });

  it('flags a response time above 2 s (P2)', () => {
    const slowBaseline: Baseline = { ...baseline, healthLatencyMs: 1900 };
    const evaluation = evaluateThresholds(
      slowBaseline,
      sample({ healthLatencyMs: 2100 }),
      DEFAULT_THRESHOLDS,
      fresh,
    );
    expect(evaluation.breached).toEqual([
      { trigger: 'response-time', severity: 'P2', detail: 'response time 2100 ms > 2000 ms' },
    ]);
  });

  it('flags database connections above 80% of max_connections (P1)', () => {
    expect(triggersOf(sample({ dbConnectionsPercent: 85 }))).toEqual(['db-connections']);
    expect(triggersOf(sample({ dbConnectionsPercent: 80 }))).toEqual([]);
  });

  it('uses the thresholds it is given', () => {
    const strict = { ...DEFAULT_THRESHOLDS, dbConnectionsPercent: 5, consecutiveHealthFailures: 1 };
    const evaluation = evaluateThresholds(
      baseline,
      sample({ dbConnectionsPercent: 10, healthOk: false }),
      strict,
      fresh,
    );
    expect(evaluation.breached.map((b) => b.trigger)).toEqual([
      'critical-functionality-broken',
      'db-connections',
    ]);
  });

  it('has no imports, so workflows can call it in the sandbox', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const source = readFileSync(join(__dirname, '../../src/verify/thresholds.ts'), 'utf8');
    expect(source).not.toMatch(/^\s*import\s/m);
    expect(source).not.toMatch(/require\(/);
  });
});
