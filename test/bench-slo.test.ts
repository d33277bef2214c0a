import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSlo, parseSlo } from '../bench/analysis/slo.js';
import { BenchConfigError } from '../bench/errors.js';
import { syntheticStep } from './helpers/bench-fixtures.js';

test('objectives take any percentile and a bound in us, µs, ms or s', () => {
  assert.deepEqual(parseSlo('p99<1ms'), { objective: 'p99<1ms', percentile: 99, boundUs: 1000 });
  assert.deepEqual(parseSlo(' p99.9 < 500us '), { objective: 'p99.9 < 500us', percentile: 99.9, boundUs: 500 });
  assert.equal(parseSlo('p50<=2s').boundUs, 2_000_000);
  assert.equal(parseSlo('p90<250µs').boundUs, 250);
  for (const bad of ['99<1ms', 'p101<1ms', 'p99>1ms', 'p99<1', 'p99<0ms', 'p0<1ms']) {
    assert.throws(() => parseSlo(bad), BenchConfigError, bad);
  }
});

test('the answer is the highest achieved throughput among levels meeting the bound, per server count', () => {
  const steps = [
    syntheticStep({ index: 0, serverCount: 1, phase: 'max', latencyUs: 5000, achieved: 1000 }),
    syntheticStep({ index: 1, serverCount: 1, loadFraction: 0.5, latencyUs: 300, achieved: 500 }),
    syntheticStep({ index: 2, serverCount: 1, loadFraction: 0.8, latencyUs: 900, achieved: 800 }),
    syntheticStep({ index: 3, serverCount: 1, loadFraction: 1, latencyUs: 4000, achieved: 990 }),
    syntheticStep({ index: 4, serverCount: 2, loadFraction: 0.5, latencyUs: 2000, achieved: 900 }),
  ];
  const slo = computeSlo(steps, parseSlo('p99<1ms'), 0.01);
  assert.deepEqual(
    slo.points.map((p) => [p.serverCount, p.maxOpsPerSec, p.stepIndex]),
    [
      [1, 800, 2],
      [2, null, null],
    ],
  );
  assert.ok(slo.points[0]!.latencyUs! <= 1000);
});

test('with trials a level counts by its median, so one lucky trial cannot pass it', () => {
  const steps = [
    syntheticStep({ index: 0, loadFraction: 0.9, trial: 0, latencyUs: 500, achieved: 900 }),
    syntheticStep({ index: 1, loadFraction: 0.9, trial: 1, latencyUs: 3000, achieved: 900 }),
    syntheticStep({ index: 2, loadFraction: 0.9, trial: 2, latencyUs: 3000, achieved: 900 }),
  ];
  assert.equal(computeSlo(steps, parseSlo('p99<1ms'), 0.01).points[0]!.maxOpsPerSec, null);
});

test('levels with too many errors do not meet the objective however fast they were', () => {
  const steps = [syntheticStep({ index: 0, loadFraction: 0.5, latencyUs: 100, achieved: 500, errorRate: 0.2 })];
  assert.equal(computeSlo(steps, parseSlo('p99<1ms'), 0.01).points[0]!.maxOpsPerSec, null);
});
