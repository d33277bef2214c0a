import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateSeconds, planSteps, type PlanInput } from '../bench/run/plan.js';
import { parseWorkload } from '../bench/workload.js';

const base: PlanInput = {
  serverCounts: [1, 2],
  workloads: [parseWorkload('put'), parseWorkload('get')],
  mode: 'open',
  loadLevels: [0.5, 1],
  rateOpsPerSec: null,
  trials: 1,
};

function describe(input: PlanInput): string[] {
  return planSteps(input).map((s) => `${s.serverCount}:${s.workload.name}:${s.phase}:${s.loadFraction ?? '-'}:${s.trial}`);
}

test('each server count and workload gets a max probe and then its open-loop levels', () => {
  assert.deepEqual(describe(base), [
    '1:put:max:-:0', '1:put:level:0.5:0', '1:put:level:1:0',
    '1:get:max:-:0', '1:get:level:0.5:0', '1:get:level:1:0',
    '2:put:max:-:0', '2:put:level:0.5:0', '2:put:level:1:0',
    '2:get:max:-:0', '2:get:level:0.5:0', '2:get:level:1:0',
  ]);
  const steps = planSteps(base);
  steps.forEach((s, i) => assert.equal(s.index, i));
  assert.ok(steps.filter((s) => s.phase === 'max').every((s) => s.mode === 'closed'));
  assert.ok(steps.filter((s) => s.phase === 'level').every((s) => s.mode === 'open'));
});

test('trials repeat the probe, then sweep all levels once per trial so noise spreads evenly', () => {
  assert.deepEqual(describe({ ...base, serverCounts: [1], workloads: [parseWorkload('put')], trials: 2 }), [
    '1:put:max:-:0', '1:put:max:-:1',
    '1:put:level:0.5:0', '1:put:level:1:0',
    '1:put:level:0.5:1', '1:put:level:1:1',
  ]);
});

test('a fixed --rate needs no probe', () => {
  assert.deepEqual(describe({ ...base, serverCounts: [1], workloads: [parseWorkload('get')], rateOpsPerSec: 1000 }), ['1:get:level:0.5:0', '1:get:level:1:0']);
});

test('--mode closed measures one closed-loop step per point, like the original Python project', () => {
  assert.deepEqual(describe({ ...base, mode: 'closed', trials: 2, workloads: [parseWorkload('put')] }), ['1:put:max:-:0', '1:put:max:-:1', '2:put:max:-:0', '2:put:max:-:1']);
});

test('the estimate counts every step at its duration and is unknown for request-bounded steps', () => {
  const steps = planSteps(base);
  assert.ok(Math.abs(estimateSeconds(steps, { stepDurationSec: 1, numRequests: null })! - steps.length * 1.1) < 1e-9);
  assert.equal(estimateSeconds(steps, { stepDurationSec: 1, numRequests: 100 }), null);
});
