// Statistics for comparing benchmark trials: medians, the Mann–Whitney U test and a bootstrap
// confidence interval on the ratio of medians. Pure functions of their inputs; the only source
// of randomness is a seeded generator passed in (bench/prng.ts), so every verdict is reproducible.
//
// Why these: benchmark trials are few (3–10 per side), skewed and sometimes tied, so a test that
// assumes normality (Welch's t) is the wrong tool. Mann–Whitney U compares ranks only, is exact
// for small samples (computed here by enumeration, ties included), and its false-alarm rate is
// α whatever the noise distribution, as long as trials are exchangeable — which interleaving the
// two sides makes true even when the machine's speed drifts. The bootstrap interval says how big
// the change is, which the U test does not.

/** The q-quantile (0..1) with linear interpolation between order statistics (R's type 7). NaN if empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** candidate / baseline − 1; from a zero baseline, Infinity for any rise and 0 for none. */
export function relativeChange(baseline: number, candidate: number): number {
  return baseline > 0 ? candidate / baseline - 1 : candidate > 0 ? Infinity : 0;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Ranks 1..n of the pooled values, ties given the mean of the ranks they span (midranks). */
export function midranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = rank;
    i = j + 1;
  }
  return ranks;
}

export interface MannWhitneyResult {
  /** U of the first sample: pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** One-sided p-value for "the first sample tends to be larger than the second". */
  pGreater: number;
  /** One-sided p-value for "the first sample tends to be smaller than the second". */
  pLess: number;
  pTwoSided: number;
  /** True when the p-values come from the exact permutation distribution (small samples). */
  exact: boolean;
}

/** Above this many ways to split the pooled sample, the normal approximation is used. */
const EXACT_SPLITS_LIMIT = 200_000;

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test of x against y. Exact for small samples — every split
 * of the pooled midranks is enumerated, so ties are handled exactly too — otherwise the normal
 * approximation with tie and continuity corrections. Throws on an empty sample.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('mannWhitneyU needs at least one value on each side');
  const ranks = midranks([...x, ...y]);
  let rankSumX = 0;
  for (let i = 0; i < n1; i++) rankSumX += ranks[i]!;
  const u = rankSumX - (n1 * (n1 + 1)) / 2;

  if (binomial(n1 + n2, n1) <= EXACT_SPLITS_LIMIT) {
    // Rank sums are multiples of 0.5: compare doubled values to stay in integers.
    const observed = Math.round(2 * rankSumX);
    let atLeast = 0;
    let atMost = 0;
    let total = 0;
    forEachCombination(ranks.length, n1, (chosen) => {
      let s = 0;
      for (const idx of chosen) s += ranks[idx]!;
      const doubled = Math.round(2 * s);
      if (doubled >= observed) atLeast++;
      if (doubled <= observed) atMost++;
      total++;
    });
    const pGreater = atLeast / total;
    const pLess = atMost / total;
    return { u, pGreater, pLess, pTwoSided: Math.min(1, 2 * Math.min(pGreater, pLess)), exact: true };
  }

  const n = n1 + n2;
  const meanU = (n1 * n2) / 2;
  const tieGroups = new Map<number, number>();
  for (const r of ranks) tieGroups.set(r, (tieGroups.get(r) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of tieGroups.values()) tieTerm += t * t * t - t;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, pGreater: 1, pLess: 1, pTwoSided: 1, exact: false };
  const sd = Math.sqrt(variance);
  const pGreater = 1 - normalCdf((u - meanU - 0.5) / sd);
  const pLess = normalCdf((u - meanU + 0.5) / sd);
  return { u, pGreater, pLess, pTwoSided: Math.min(1, 2 * Math.min(pGreater, pLess)), exact: false };
}

/**
 * The smallest one-sided p-value a Mann–Whitney test can give with these sample sizes
 * (complete separation): 1 / C(n1 + n2, n1). With 3 trials a side it is 0.05.
 */
export function smallestOneSidedP(n1: number, n2: number): number {
  return 1 / binomial(n1 + n2, n1);
}

export interface RatioInterval {
  /** median(y) / median(x). */
  estimate: number;
  low: number;
  high: number;
  confidence: number;
}

/**
 * Percentile-bootstrap confidence interval for median(y) / median(x): both samples are resampled
 * with replacement `iterations` times. With very few trials the interval is coarse (it can only
 * take values that medians of resamples take) but never claims more certainty than the data give.
 */
export function bootstrapMedianRatio(
  x: readonly number[],
  y: readonly number[],
  options: { iterations?: number; confidence?: number; random: () => number },
): RatioInterval {
  if (x.length === 0 || y.length === 0) throw new RangeError('bootstrapMedianRatio needs at least one value on each side');
  const iterations = options.iterations ?? 2000;
  const confidence = options.confidence ?? 0.95;
  const rnd = options.random;
  const ratios = new Float64Array(iterations);
  const bx = new Array<number>(x.length);
  const by = new Array<number>(y.length);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < x.length; i++) bx[i] = x[Math.floor(rnd() * x.length)]!;
    for (let i = 0; i < y.length; i++) by[i] = y[Math.floor(rnd() * y.length)]!;
    ratios[it] = median(by) / median(bx);
  }
  const sorted = Array.from(ratios).sort((a, b) => a - b);
  const tail = (1 - confidence) / 2;
  return { estimate: median(y) / median(x), low: quantile(sorted, tail), high: quantile(sorted, 1 - tail), confidence };
}

/**
 * Holm–Bonferroni: which of the p-values are significant at family-wise error rate `alpha`.
 * Returns one boolean per p-value, in the input order.
 */
export function holmSignificant(pValues: readonly number[], alpha: number): boolean[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const result = new Array<boolean>(pValues.length).fill(false);
  const m = pValues.length;
  for (let k = 0; k < m; k++) {
    const [p, i] = order[k]!;
    if (p > alpha / (m - k)) break;
    result[i] = true;
  }
  return result;
}

/** Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26 via erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Inverse of normalCdf (bisection to 1e-10): the z with normalCdf(z) = p, for 0 < p < 1. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  let lo = -10;
  let hi = 10;
  while (hi - lo > 1e-10) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values. */
export function stdev(values: readonly number[]): number {
  if (values.length < 2) return 0;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (values.length - 1));
}

/**
 * The smallest relative shift between two samples that a one-sided Mann–Whitney test at `alpha`
 * detects with probability `power`, given their relative spread (coefficient of variation): the
 * normal-theory size (z_α + z_power) · cv · √(1/n1 + 1/n2), widened by √(π/3) for the rank test's
 * efficiency. Infinity when the sample sizes cannot reach `alpha` at all.
 */
export function detectableShift(cv: number, n1: number, n2: number, alpha: number, power: number): number {
  if (smallestOneSidedP(n1, n2) > alpha) return Infinity;
  return (normalQuantile(1 - alpha) + normalQuantile(power)) * cv * Math.sqrt(1 / n1 + 1 / n2) * Math.sqrt(Math.PI / 3);
}

/**
 * The fewest trials a side (the same number on both) with which a one-sided Mann–Whitney test can
 * reach p ≤ `alpha` at all: the smallest n with 1 / C(2n, n) ≤ alpha (3 for α = 0.05, 5 for 0.01).
 */
export function trialsToReachAlpha(alpha: number): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`trialsToReachAlpha needs 0 < alpha < 1, got ${alpha}`);
  let n = 1;
  while (smallestOneSidedP(n, n) > alpha) n++;
  return n;
}

/**
 * The fewest trials a side for which detectableShift(cv, n, n, alpha, power) ≤ `shift`: how many
 * trials catch a relative change of `shift` with probability `power` when one trial varies by `cv`
 * (coefficient of variation). Never fewer than trialsToReachAlpha(alpha); Infinity when cv is not
 * a finite number or shift is not positive.
 */
export function trialsToDetect(cv: number, shift: number, alpha: number, power: number): number {
  const floor = trialsToReachAlpha(alpha);
  if (!Number.isFinite(cv) || cv < 0 || !(shift > 0)) return Infinity;
  // detectableShift with n1 = n2 = n is k · cv · √(2 / n): solve for n, then step up past rounding.
  const k = (normalQuantile(1 - alpha) + normalQuantile(power)) * Math.sqrt(Math.PI / 3);
  let n = Math.max(floor, Math.ceil(2 * ((k * cv) / shift) ** 2 - 1e-9));
  while (detectableShift(cv, n, n, alpha, power) > shift) n++;
  return n;
}

/**
 * Relative spread of single trials: the standard deviation pooled over the samples that have at
 * least two values (each weighted by its n − 1), divided by `reference` (a median). null when no
 * sample has two values — one trial says nothing about how much trials vary.
 */
export function pooledRelativeSpread(samples: readonly (readonly number[])[], reference: number): number | null {
  let sumSquares = 0;
  let degrees = 0;
  for (const s of samples) {
    if (s.length < 2) continue;
    sumSquares += stdev(s) ** 2 * (s.length - 1);
    degrees += s.length - 1;
  }
  if (degrees === 0) return null;
  return reference > 0 ? Math.sqrt(sumSquares / degrees) / reference : Infinity;
}

export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  const kk = Math.min(k, n - k);
  for (let i = 1; i <= kk; i++) r = (r * (n - kk + i)) / i;
  return Math.round(r);
}

/** Calls `visit` with every k-subset of 0..n-1 (the same array, mutated between calls). */
function forEachCombination(n: number, k: number, visit: (chosen: readonly number[]) => void): void {
  const chosen = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    visit(chosen);
    let i = k - 1;
    while (i >= 0 && chosen[i] === n - k + i) i--;
    if (i < 0) return;
    chosen[i]!++;
    for (let j = i + 1; j < k; j++) chosen[j] = chosen[j - 1]! + 1;
  }
}
