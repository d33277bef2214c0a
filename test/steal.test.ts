import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, readCpuTicks, stealFraction } from '../bench/steal.js';

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
