import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRuns, noiseFloorFrom, thresholdsFor, DEFAULT_COMPARE_OPTIONS, DETECTION_POWER, OUTCOME_EXIT_CODES } from '../bench/analysis/compare.js';
import { pooledRelativeSpread, trialsToDetect } from '../bench/analysis/statistics.js';
import { comparisonMarkdown, comparisonText, formatPercent } from '../bench/report/comparison-text.js';
import { combineTrials, dropFirstTrials } from '../bench/analysis/merge-trials.js';
import { CompareMismatchError } from '../bench/errors.js';
import { validateRunResult } from '../bench/results-check.js';
import { makeRunResult } from './helpers/results-fixture.js';

// Small runs keep these fast: 1 server, one workload, two load levels, 5 trials.
const plan = { serverCounts: [1], workloads: ['get'], fractions: [0.5, 0.9], samplesPerStep: 100 };

test('identical inputs: no regression, every change is zero, exit status would be 0', () => {
  const run = makeRunResult({ ...plan, trials: 5, noise: 0.02 });
  const c = compareRuns(run, run);
  assert.equal(c.failed, false);
  assert.equal(c.outcome, 'pass');
  assert.equal(c.regressions, 0);
  for (const s of c.steps) {
    assert.equal(s.verdict, 'unchanged');
    for (const m of s.metrics) assert.equal(m.change, 0);
  }
  assert.equal(c.steps.length, 3, 'max probe + two levels matched');
});

test('a clear 10% slowdown with 5 trials a side is a significant regression of throughput', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 1 });
  const cand = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 2, slowdown: 0.1 });
  const c = compareRuns(base, cand);
  assert.equal(c.failed, true);
  const max = c.steps.find((s) => s.phase === 'max')!;
  assert.equal(max.verdict, 'regression');
  const tp = max.metrics.find((m) => m.metric === 'throughput')!;
  assert.ok(tp.change < -0.05, `throughput change ${tp.change}`);
  assert.ok(tp.pWorse! <= 0.05);
  assert.ok(tp.ratioInterval!.high < 1, 'the 95% interval excludes no change');
  assert.match(comparisonText(c), /REGRESSION: throughput −\d+\.\d% p=0\.00\d/);
  assert.match(comparisonMarkdown(c), /❌ 1 regression/);
});

test('small noise alone (2% between trials, no change) does not fail', () => {
  for (const seed of [11, 12, 13, 14, 15]) {
    const base = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed });
    const cand = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: seed + 100 });
    const c = compareRuns(base, cand, { gate: ['throughput', 'p50', 'p99'] });
    assert.equal(c.failed, false, comparisonText(c));
  }
});

test('a big change that the trials cannot separate from noise is "not significant", not a regression', () => {
  const withThroughput = (values: number[]) => {
    const run = structuredClone(makeRunResult({ ...plan, trials: 3 }));
    for (const s of run.steps) if (s.phase === 'max') s.achievedOpsPerSec = values[s.trial]!;
    return run;
  };
  // Medians 100k → 90k (−10%), but the trials overlap: the test cannot call it.
  const c = compareRuns(withThroughput([100_000, 120_000, 80_000]), withThroughput([90_000, 110_000, 85_000]));
  const tp = c.steps.find((s) => s.phase === 'max')!.metrics.find((m) => m.metric === 'throughput')!;
  assert.ok(Math.abs(tp.change + 0.1) < 1e-9);
  assert.ok(tp.pWorse! > 0.05);
  assert.equal(tp.verdict, 'not-significant');
  assert.equal(c.failed, false);
  assert.match(comparisonText(c), /within noise: throughput −10\.0% p=0\.\d+ not significant/);
});

test('one trial a side is "untested" whatever the medians did: the outcome is untested (exit 3), never "no regression"', () => {
  const base = makeRunResult({ ...plan, trials: 1 });
  // Two single runs 68% apart: the case that used to read "RESULT: no regression".
  const slow = makeRunResult({ ...plan, trials: 1, slowdown: 0.68 / 0.32 });
  const c = compareRuns(base, slow);
  assert.equal(c.outcome, 'untested');
  assert.equal(OUTCOME_EXIT_CODES[c.outcome], 3);
  assert.equal(c.failed, false);
  const tp = c.steps[0]!.metrics.find((m) => m.metric === 'throughput')!;
  assert.ok(Math.abs(tp.change + 0.68) < 1e-9, `change ${tp.change}`);
  assert.equal(tp.tested, false);
  assert.equal(tp.pWorse, null);
  assert.equal(tp.verdict, 'untested');
  assert.equal(c.steps[0]!.verdict, 'untested');
  const text = comparisonText(c);
  assert.match(text, /UNTESTED \(1\/1 trials, too few to test\): throughput −68\.0%/);
  assert.match(text, /^RESULT: UNTESTED — 1 step could not be tested \(too few trials\); this is not a pass \(exit 3\)$/m);
  assert.doesNotMatch(text, /no regression/);
  assert.match(comparisonMarkdown(c), /— ⚠️ untested — 1 step could not be tested, not a pass/);
  assert.ok(c.warnings.some((w) => /could not be tested: fewer than --min_trials 3 trials a side/.test(w)), c.warnings.join('\n'));

  // The summary says what would make it testable: 3 a side for p ≤ 0.05; the noise needs trials to be measured at all.
  assert.deepEqual(c.trialsNeeded, { toTest: 3, toDetect: null, noisiest: null });
  assert.match(text, /Trials needed: ≥ 3 a side to test at all \(with 1 and 1 the smallest possible p is 0\.500 > α 0\.05/);
  assert.match(text, /cannot be measured from one trial a side: rerun with ≥ 3 trials a side/);

  const same = compareRuns(base, base);
  assert.equal(same.outcome, 'untested', 'identical single runs are not evidence of no regression either');
  assert.equal(same.steps[0]!.verdict, 'untested');
});

test('--fail_untested judges untested steps on the threshold alone: beyond it fails, within it passes', () => {
  const base = makeRunResult({ ...plan, trials: 1 });
  const slow = makeRunResult({ ...plan, trials: 1, slowdown: 0.2 });
  const strict = compareRuns(base, slow, { failUntested: true });
  assert.equal(strict.outcome, 'regression');
  assert.equal(strict.failed, true);
  assert.ok(strict.warnings.some((w) => w.includes('judged on the threshold alone (--fail_untested')));
  const slightly = makeRunResult({ ...plan, trials: 1, slowdown: 0.02 });
  const within = compareRuns(base, slightly, { failUntested: true });
  assert.equal(within.outcome, 'pass', 'a 2% change is under the 5% threshold');
  assert.equal(within.steps[0]!.verdict, 'unchanged');
});

test('trials that cannot reach p ≤ α are untested too: 2 a side, or --min_trials 1 with one trial', () => {
  const base = makeRunResult({ ...plan, trials: 2, noise: 0.02, seed: 1 });
  const slow = makeRunResult({ ...plan, trials: 2, noise: 0.02, seed: 2, slowdown: 0.3 });
  const c = compareRuns(base, slow, { minTrials: 2 });
  assert.equal(c.outcome, 'untested');
  assert.ok(c.warnings.some((w) => /with 2 and 2 trials the smallest possible p is 0\.167 > --alpha 0\.05/.test(w)), c.warnings.join('\n'));
  assert.equal(c.trialsNeeded!.toTest, 3);
  assert.ok(c.trialsNeeded!.toDetect! >= 3, 'two trials a side do measure the noise');
  const one = makeRunResult({ ...plan, trials: 1 });
  assert.equal(compareRuns(one, one, { minTrials: 1 }).outcome, 'untested', '1 vs 1 can never give p ≤ 0.05');
});

test('a pass says how many trials the measured noise needs when it is more than were run', () => {
  const base = makeRunResult({ ...plan, trials: 4, noise: 0.05, seed: 3 });
  const cand = makeRunResult({ ...plan, trials: 4, noise: 0.05, seed: 4 });
  const c = compareRuns(base, cand);
  assert.equal(c.outcome, 'pass', comparisonText(c));
  const t = c.trialsNeeded!;
  assert.equal(t.noisiest!.metric, 'throughput');
  const tp = c.steps.find((s) => s.phase === 'max')!.metrics.find((m) => m.metric === 'throughput')!;
  assert.equal(t.noisiest!.cv, pooledRelativeSpread([tp.baseline, tp.candidate], tp.baselineMedian));
  assert.equal(t.toDetect, trialsToDetect(t.noisiest!.cv, 0.05, 0.05, DETECTION_POWER));
  assert.ok(t.toDetect! > 4);
  assert.match(comparisonText(c), new RegExp(`≈ ${t.toDetect} trials a side would catch a 5\\.0% regression with 80% probability`));
  assert.match(comparisonText(c), /^RESULT: no regression \(exit 0\)$/m);
});

test('a comparison in which no step carries a gated metric is untested, not a pass', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 1 });
  const cand = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 2 });
  // The fixture has no server CPU figures, so a server_cpu-only gate has nothing to judge.
  const c = compareRuns(base, cand, { gate: ['server_cpu'] });
  assert.equal(c.outcome, 'untested');
  assert.equal(c.trialsNeeded, null);
  assert.match(comparisonText(c), /RESULT: UNTESTED — no compared step carries a gated metric \(--gate server_cpu\); this is not a pass \(exit 3\)/);
});

test('improvements are reported and never fail', () => {
  const slow = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 1, slowdown: 0.2 });
  const fast = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 2 });
  const c = compareRuns(slow, fast);
  assert.equal(c.failed, false);
  assert.equal(c.improvements, 1);
  assert.match(comparisonText(c), /improved: throughput \+/);
});

test('only gated metrics fail: a latency-only regression fails with --gate p99 but not by default', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 1 });
  const cand = structuredClone(makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 2 }));
  for (const s of cand.steps) {
    if (s.phase !== 'level') continue;
    // Same throughput, 30% worse tail.
    s.total.latency.p99Us = Math.round(s.total.latency.p99Us * 1.3);
    s.total.latency.p999Us = Math.max(s.total.latency.p999Us, s.total.latency.p99Us);
    s.total.latency.p9999Us = Math.max(s.total.latency.p9999Us, s.total.latency.p999Us);
    s.total.latency.maxUs = Math.max(s.total.latency.maxUs, s.total.latency.p9999Us);
  }
  assert.equal(compareRuns(base, cand).failed, false);
  const gated = compareRuns(base, cand, { gate: ['throughput', 'p99'] });
  assert.equal(gated.failed, true);
  assert.ok(gated.steps.filter((s) => s.phase === 'level').every((s) => s.verdict === 'regression'));
});

test('server_cpu: servers costing 10% more CPU per request fail the default gate and --gate server_cpu, are reported otherwise, and missing figures warn', () => {
  const withCpu = (cpu: (number | null)[], seed: number) => {
    const run = structuredClone(makeRunResult({ ...plan, trials: 5, noise: 0.01, seed }));
    for (const s of run.steps) s.serverCpuUsPerRequest = s.phase === 'max' ? cpu[s.trial]! : null;
    return run;
  };
  const base = withCpu([50, 50.5, 49.8, 50.2, 49.9], 1);
  const cand = withCpu([55.1, 54.8, 55.6, 55, 54.9], 2);
  const gated = compareRuns(base, cand, { gate: ['server_cpu'] });
  assert.equal(gated.failed, true, comparisonText(gated));
  const cpu = gated.steps.find((s) => s.phase === 'max')!.metrics.find((m) => m.metric === 'server_cpu')!;
  assert.ok(Math.abs(cpu.change - 0.1) < 0.01, `change ${cpu.change}`);
  assert.equal(cpu.verdict, 'regression');
  assert.match(comparisonText(gated), /REGRESSION: server CPU\/request \+\d+\.\d%/);
  assert.match(comparisonMarkdown(gated), /50\.0 µs → 55\.0 µs/);
  assert.ok(!gated.steps.some((s) => s.phase === 'level' && s.metrics.some((m) => m.metric === 'server_cpu')), 'open-loop steps are not judged on CPU');

  assert.equal(compareRuns(base, cand).failed, true, 'server_cpu is gated by default, with throughput');
  const throughputOnly = compareRuns(base, cand, { gate: ['throughput'] });
  assert.equal(throughputOnly.failed, false);
  assert.equal(throughputOnly.steps.find((s) => s.phase === 'max')!.ungatedRegression, true, 'reported when not gated');

  const oneMissing = withCpu([55.1, 54.8, null, 55, 54.9], 2);
  const c = compareRuns(base, oneMissing, { gate: ['server_cpu'] });
  assert.equal(c.failed, false, 'a step with a trial lacking the figure is not judged on it');
  assert.ok(c.warnings.some((w) => /carry no server CPU figures .*: nothing else is gated/.test(w)), c.warnings.join('\n'));
  assert.deepEqual(validateRunResult(oneMissing), []);
  const none = compareRuns(withCpu([null, null, null, null, null], 1), withCpu([null, null, null, null, null], 2));
  assert.ok(none.warnings.some((w) => /carry no server CPU figures .*: judged on throughput only/.test(w)), none.warnings.join('\n'));
  const twoCounts = (seed: number) => {
    const run = structuredClone(makeRunResult({ ...plan, serverCounts: [1, 2], trials: 5, noise: 0.01, seed }));
    for (const s of run.steps) s.serverCpuUsPerRequest = s.phase === 'max' && s.serverCount === 1 ? 50 : null;
    return run;
  };
  const partial = compareRuns(twoCounts(1), twoCounts(2));
  assert.ok(partial.warnings.some((w) => /server_cpu: 1 closed-loop step\(s\) lack .*: judged on throughput only/.test(w)), partial.warnings.join('\n'));
});

test('trials during which the hypervisor stole more than --max_steal of the CPU are left out, and said so', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 1 });
  const cand = structuredClone(makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 2 }));
  // Two candidate trials were taken while a neighbour had the machine: a third of the throughput.
  for (const s of cand.steps) {
    s.stealFraction = s.trial < 2 ? 0.25 : 0.001;
    if (s.trial < 2 && s.phase === 'max') s.achievedOpsPerSec /= 3;
  }
  const kept = compareRuns(base, cand);
  assert.equal(kept.failed, false, comparisonText(kept));
  assert.deepEqual(kept.disturbedTrials, { baseline: 0, candidate: 6 });
  assert.equal(kept.steps.find((s) => s.phase === 'max')!.candidateTrials, 3);
  assert.ok(kept.warnings.some((w) => /0 baseline and 6 candidate trial\(s\) left out: the hypervisor took more than 5%/.test(w)), kept.warnings.join('\n'));
  assert.equal(compareRuns(base, cand, { maxSteal: null }).steps.find((s) => s.phase === 'max')!.candidateTrials, 5, '--max_steal 100% keeps every trial');

  for (const s of cand.steps) s.stealFraction = 0.5;
  assert.throws(() => compareRuns(base, cand), (err: unknown) => err instanceof CompareMismatchError && /left out because the hypervisor took more than 5%.*raise --max_steal/.test(err.message));
  assert.deepEqual(validateRunResult(cand), []);
});

test('steps are matched by workload, server count and level; a run with nothing in common is a mismatch error', () => {
  const a = makeRunResult({ ...plan, trials: 1, workloads: ['get'] });
  const b = makeRunResult({ ...plan, trials: 1, workloads: ['put'] });
  assert.throws(() => compareRuns(a, b), (err: unknown) => err instanceof CompareMismatchError && err.code === 'KV_ERR_COMPARE_MISMATCH' && /no step in common/.test(err.message));
  const wider = makeRunResult({ ...plan, trials: 1, fractions: [0.5, 0.9, 0.95] });
  const c = compareRuns(a, wider);
  assert.deepEqual(c.onlyInCandidate, ['get · 1 server · 95% load']);
  assert.ok(c.warnings.some((w) => w.includes('one side only')));
});

test('an A/A noise floor raises the threshold to what the machine does on its own', () => {
  const a1 = makeRunResult({ ...plan, trials: 5, noise: 0.05, seed: 21 });
  const a2 = makeRunResult({ ...plan, trials: 5, noise: 0.05, seed: 22 });
  const floor = noiseFloorFrom(a1, a2, 'a1 vs a2');
  assert.ok((floor.byMetric.throughput ?? 0) > 0);
  const t = thresholdsFor({ ...DEFAULT_COMPARE_OPTIONS, maxRegression: 0, noiseFloor: floor });
  assert.equal(t.throughput, floor.byMetric.throughput);
  const withFloor = thresholdsFor({ ...DEFAULT_COMPARE_OPTIONS, noiseFloor: { source: 'x', byMetric: { p99: 0.3 } } });
  assert.equal(withFloor.p99, 0.3);
  assert.equal(withFloor.throughput, 0.05, 'never below --max_regression');
  const c = compareRuns(a1, a2, { noiseFloor: floor });
  assert.match(comparisonMarkdown(c), /Noise floor of this machine \(A\/A: a1 vs a2\): throughput \d/);
});

test('trials of several runs combine into one valid run (CI alternates builds, one run per round)', () => {
  const runs = [1, 2, 3].map((seed) => makeRunResult({ ...plan, trials: 2, seed }));
  const combined = combineTrials(runs);
  assert.deepEqual(validateRunResult(JSON.parse(JSON.stringify(combined))), []);
  assert.equal(combined.steps.length, runs.reduce((a, r) => a + r.steps.length, 0));
  assert.deepEqual([...new Set(combined.steps.map((s) => s.trial))], [0, 1, 2, 3, 4, 5]);
  const c = compareRuns(combined, combined);
  assert.ok(c.steps.every((s) => s.baselineTrials === 6));
});

test('percent formatting uses a real minus sign and ± for zero', () => {
  assert.equal(formatPercent(-0.0987), '−9.9%');
  assert.equal(formatPercent(0.05), '+5.0%');
  assert.equal(formatPercent(0), '±0.0%');
});

test('a pass from trials too noisy to guard the threshold says so', () => {
  const base = makeRunResult({ ...plan, trials: 4, noise: 0.3, seed: 31 });
  const cand = makeRunResult({ ...plan, trials: 4, noise: 0.3, seed: 32 });
  const c = compareRuns(base, cand);
  const tp = c.steps.find((s) => s.phase === 'max')!.metrics.find((m) => m.metric === 'throughput')!;
  assert.ok(tp.detectableChange! > 0.1, `detectable ${tp.detectableChange}`);
  assert.ok(c.warnings.some((w) => w.startsWith('the trials are too noisy to guard the threshold')));
  const quiet = compareRuns(makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 1 }), makeRunResult({ ...plan, trials: 5, noise: 0.01, seed: 2 }));
  assert.ok(!quiet.warnings.some((w) => w.includes('too noisy')));
});

test('dropping warm-up trials renumbers trials and steps and keeps a valid run', () => {
  const run = makeRunResult({ ...plan, trials: 3 });
  const kept = dropFirstTrials(run, 1);
  assert.deepEqual(validateRunResult(JSON.parse(JSON.stringify(kept))), []);
  assert.equal(kept.steps.length, (run.steps.length * 2) / 3);
  assert.deepEqual([...new Set(kept.steps.map((s) => s.trial))], [0, 1]);
  assert.ok(kept.intervals.every((iv) => iv.stepIndex < kept.steps.length));
  assert.equal(dropFirstTrials(run, 0), run);
});
