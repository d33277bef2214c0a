import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, readCpuTicks, stealFraction } from '../bench/run/cpu-ticks.js';
import { DISTURBED_STEAL_FRACTION, disturbedBySteal } from '../bench/analysis/steal-limit.js';

test('/proc/stat: steal and the total of the first eight fields (guest time is inside user)', () => {
  const text = 'cpu  1000 10 200 5000 30 0 40 120 77 0\ncpu0 500 5 100 2500 15 0 20 60 0 0\nintr 1 2 3\n';
  assert.deepEqual(parseProcStat(text), { steal: 120, total: 1000 + 10 + 200 + 5000 + 30 + 0 + 40 + 120 });
  assert.equal(parseProcStat('intr 1 2\n'), null);
  assert.equal(parseProcStat('cpu  1 2 x 4 5 6 7 8\n'), null);
});

test('steal fraction between readings: stolen share of all CPU time, null when unknown', () => {
  assert.equal(stealFraction({ steal: 100, total: 10_000 }, { steal: 110, total: 10_200 }), 0.05);
  assert.equal(stealFraction({ steal: 100, total: 10_000 }, { steal: 100, total: 10_000 }), null, 'no time passed');
  assert.equal(stealFraction(null, { steal: 1, total: 2 }), null);
  if (process.platform === 'linux') {
    const t = readCpuTicks();
    assert.ok(t !== null && t.total > 0 && t.steal >= 0 && t.steal <= t.total);
  }
});

test('a step is disturbed by steal only when its share is known and above the limit (5 % by default)', () => {
  assert.equal(DISTURBED_STEAL_FRACTION, 0.05);
  assert.equal(disturbedBySteal(0.051), true);
  assert.equal(disturbedBySteal(0.05), false, 'the limit itself is not above the limit');
  assert.equal(disturbedBySteal(0), false);
  assert.equal(disturbedBySteal(null), false, 'unknown steal (not Linux) never disturbs');
  assert.equal(disturbedBySteal(undefined), false, 'results written before steal was recorded');
  assert.equal(disturbedBySteal(0.2, 0.25), false, 'a looser --max_steal');
  assert.equal(disturbedBySteal(0.99, null), false, 'no limit: nothing is left out');
});
