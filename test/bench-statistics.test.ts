import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  binomial,
  bootstrapMedianRatio,
  detectableShift,
  holmSignificant,
  mannWhitneyU,
  median,
  midranks,
  normalCdf,
  normalQuantile,
  pooledRelativeSpread,
  quantile,
  smallestOneSidedP,
  stdev,
  trialsToDetect,
  trialsToReachAlpha,
} from '../bench/analysis/statistics.js';
import { seededRandom } from '../bench/prng.js';

test('median and quantiles interpolate between order statistics (R type 7)', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0), 1);
  assert.equal(quantile([1, 2, 3, 4, 5], 1), 5);
  assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
  assert.ok(Number.isNaN(median([])));
});

test('midranks give tied values the mean of the ranks they span', () => {
  assert.deepEqual(midranks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
  assert.deepEqual(midranks([5, 5, 5]), [2, 2, 2]);
});

test('Mann–Whitney: complete separation of 3 vs 3 gives the exact one-sided p = 1/20', () => {
  const r = mannWhitneyU([1, 2, 3], [4, 5, 6]);
  assert.equal(r.exact, true);
  assert.equal(r.u, 0);
  assert.equal(r.pLess, 1 / 20);
  assert.equal(r.pGreater, 1);
  assert.equal(r.pTwoSided, 0.1);
  assert.equal(smallestOneSidedP(3, 3), 0.05);
  assert.equal(smallestOneSidedP(5, 5), 1 / 252);
});

test('Mann–Whitney: identical samples are no evidence either way', () => {
  const r = mannWhitneyU([7, 7, 7], [7, 7, 7]);
  assert.equal(r.pLess, 1);
  assert.equal(r.pGreater, 1);
  const big = mannWhitneyU(Array(30).fill(1), Array(30).fill(1));
  assert.equal(big.exact, false);
  assert.equal(big.pGreater, 1);
});

test('Mann–Whitney: U counts the pairs the first sample wins; the normal approximation agrees with the exact test for larger samples', () => {
  // U counts pairs with x > y: 1 beats none, 4 beats 2 and 3, 7 beats four, 9 beats all five.
  const r = mannWhitneyU([1, 4, 7, 9], [2, 3, 5, 6, 8]);
  assert.equal(r.u, 11);
  const rnd = seededRandom(3);
  const x = Array.from({ length: 9 }, () => rnd());
  const y = Array.from({ length: 9 }, () => rnd() + 0.3);
  const exact = mannWhitneyU(x, y);
  assert.equal(exact.exact, true);
  // 25 + 25 values: too many splits, so the normal approximation is used.
  const x2 = [...x, ...x.map((v) => v + 1e-6), ...x.slice(0, 7).map((v) => v + 2e-6)];
  const y2 = [...y, ...y.map((v) => v + 1e-6), ...y.slice(0, 7).map((v) => v + 2e-6)];
  const approx = mannWhitneyU(x2, y2);
  assert.equal(approx.exact, false);
  assert.ok(exact.pLess < 0.05 && approx.pLess < 0.01, `${exact.pLess} ${approx.pLess}`);
});

test('Mann–Whitney properties: p-values in [0, 1], swapping sides swaps the one-sided p-values', () => {
  const sample = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 7 });
  fc.assert(
    fc.property(sample, sample, (x, y) => {
      const a = mannWhitneyU(x, y);
      const b = mannWhitneyU(y, x);
      for (const p of [a.pGreater, a.pLess, a.pTwoSided]) assert.ok(p >= 0 && p <= 1 + 1e-12);
      assert.ok(Math.abs(a.pGreater - b.pLess) < 1e-12);
      assert.ok(Math.abs(a.pLess - b.pGreater) < 1e-12);
      // P(U ≥ u) + P(U ≤ u) ≥ 1: the observed value is counted on both sides.
      assert.ok(a.pGreater + a.pLess >= 1 - 1e-12);
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('Mann–Whitney under the null: a one-sided test at α = 0.05 fires on at most 5% of same-distribution samples', () => {
  const rnd = seededRandom(2024);
  let fired = 0;
  const runs = 2000;
  for (let i = 0; i < runs; i++) {
    const x = Array.from({ length: 5 }, () => rnd());
    const y = Array.from({ length: 5 }, () => rnd());
    if (mannWhitneyU(x, y).pLess <= 0.05) fired++;
  }
  // Exact test on continuous data: the true rate is P(p ≤ 0.05) = 0.044 for 5 vs 5.
  assert.ok(fired / runs <= 0.06, `fired ${fired}/${runs}`);
});

test('bootstrap interval of the median ratio covers the estimate and is reproducible for a seed', () => {
  const base = [100, 102, 98, 101, 99];
  const cand = [90, 91, 89, 92, 90];
  const a = bootstrapMedianRatio(base, cand, { random: seededRandom(7) });
  const b = bootstrapMedianRatio(base, cand, { random: seededRandom(7) });
  assert.deepEqual(a, b);
  assert.equal(a.estimate, 90 / 100);
  assert.ok(a.low <= a.estimate && a.estimate <= a.high);
  assert.ok(a.high < 1, 'a 10% drop with 2% noise is outside the interval of no change');
});

test('Holm–Bonferroni rejects in order of p while p ≤ α / (m − k)', () => {
  assert.deepEqual(holmSignificant([0.01, 0.04, 0.03], 0.05), [true, false, false]);
  assert.deepEqual(holmSignificant([0.01, 0.02, 0.012], 0.05), [true, true, true]);
  assert.deepEqual(holmSignificant([], 0.05), []);
});

test('helpers: binomial coefficients and the normal CDF', () => {
  assert.equal(binomial(6, 3), 20);
  assert.equal(binomial(10, 5), 252);
  assert.equal(binomial(3, 5), 0);
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
  assert.ok(Math.abs(normalCdf(-1.644854) - 0.05) < 1e-6);
});

test('detectable shift: what a comparison of this size and noise can catch; nothing when α is out of reach', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5, 'as exact as normalCdf');
  assert.ok(Math.abs(stdev([2, 4, 4, 4, 5, 5, 7, 9]) - 2.138) < 1e-3);
  // (z0.95 + z0.8) · cv · √(1/5 + 1/5) · √(π/3) = 2.486 · 0.02 · 0.632 · 1.023
  assert.ok(Math.abs(detectableShift(0.02, 5, 5, 0.05, 0.8) - 0.0322) < 5e-4);
  assert.ok(detectableShift(0.02, 10, 10, 0.05, 0.8) < detectableShift(0.02, 5, 5, 0.05, 0.8), 'more trials see smaller changes');
  assert.equal(detectableShift(0.02, 3, 3, 0.01, 0.8), Infinity, '3 vs 3 can never reach p ≤ 0.01');
});

test('trials to reach α: the fewest a side whose complete separation gives p ≤ α', () => {
  assert.equal(trialsToReachAlpha(0.05), 3, '1 / C(6, 3) = 0.05');
  assert.equal(trialsToReachAlpha(0.01), 5, '1 / C(8, 4) = 1/70 > 0.01, 1 / C(10, 5) = 1/252');
  assert.equal(trialsToReachAlpha(0.5), 1);
  for (const alpha of [0.001, 0.01, 0.05, 0.1, 0.2]) {
    const n = trialsToReachAlpha(alpha);
    assert.ok(smallestOneSidedP(n, n) <= alpha);
    if (n > 1) assert.ok(smallestOneSidedP(n - 1, n - 1) > alpha, `${n - 1} a side cannot reach ${alpha}`);
  }
});

test('trials to detect: the fewest a side whose detectable shift is within the change sought', () => {
  for (const cv of [0.005, 0.02, 0.05, 0.1, 0.25]) {
    for (const shift of [0.02, 0.05, 0.1]) {
      const n = trialsToDetect(cv, shift, 0.05, 0.8);
      assert.ok(n >= 3, 'never fewer than α needs');
      assert.ok(detectableShift(cv, n, n, 0.05, 0.8) <= shift, `cv ${cv}, shift ${shift}: ${n} a side catch it`);
      if (n > 3) assert.ok(detectableShift(cv, n - 1, n - 1, 0.05, 0.8) > shift, `cv ${cv}, shift ${shift}: ${n - 1} a side do not`);
    }
  }
  // ±5 % noise, a 5 % threshold: 2 · (π/3) · (2.486 · 0.05 / 0.05)² = 12.9 → 13.
  assert.equal(trialsToDetect(0.05, 0.05, 0.05, 0.8), 13);
  assert.equal(trialsToDetect(Infinity, 0.05, 0.05, 0.8), Infinity);
  assert.equal(trialsToDetect(0.05, 0, 0.05, 0.8), Infinity);
});

test('pooled relative spread: only samples of two or more values say how trials vary', () => {
  assert.equal(pooledRelativeSpread([[100], [90]], 100), null, 'one trial a side measures no noise');
  assert.ok(Math.abs(pooledRelativeSpread([[98, 102], [90]], 100)! - stdev([98, 102]) / 100) < 1e-12);
  // Pooled by degrees of freedom: (1·var₁ + 2·var₂) / 3.
  const pooled = pooledRelativeSpread([[98, 102], [8, 10, 12]], 10)!;
  assert.ok(Math.abs(pooled - Math.sqrt((stdev([98, 102]) ** 2 + 2 * stdev([8, 10, 12]) ** 2) / 3) / 10) < 1e-12);
});
