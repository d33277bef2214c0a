import type { RunResult, StepResult } from '../results.js';
import { CompareMismatchError } from '../errors.js';
import { DISTURBED_STEAL_FRACTION, disturbedBySteal } from './steal-limit.js';
import { groupSteps, type StepGroup } from './step-groups.js';
import { seededRandom } from '../prng.js';
import { compareCosts, DEFAULT_COST_THRESHOLDS, type CostComparison, type CostMetric, type CostProfile } from './costs.js';
import {
  bootstrapMedianRatio,
  detectableShift,
  mannWhitneyU,
  median,
  pooledRelativeSpread,
  relativeChange,
  smallestOneSidedP,
  stdev,
  trialsToDetect,
  trialsToReachAlpha,
  type RatioInterval,
} from './statistics.js';

// Compares a baseline run with a candidate run, step by step, and decides whether the candidate
// regressed. Pure: RunResults and options in, a Comparison out; printing and files live in
// compare-cli.ts, which exits with OUTCOME_EXIT_CODES[comparison.outcome].
// ~520 lines in one file because every step's verdict, its headline and its exit code come from
// both the timed rule below and the count gate (costs.ts): split, the outcome would be decided in
// two places.
//
// The rule (README "Comparing runs"): a metric of a step regressed when
//   1. it is worse by more than the threshold (--max_regression, raised to the machine's noise
//      floor when A/A runs are given), judged on the medians over trials, and
//   2. with ≥ --min_trials trials a side, a one-sided Mann–Whitney U test says the candidate's
//      trials are worse than the baseline's at level α (--alpha).
// A metric is tested only when both sides have ≥ --min_trials trials and those numbers can reach
// p ≤ α at all (1 / C(n1 + n2, n1) ≤ α). An untested metric is "untested" whatever its medians
// did — one run a side cannot tell a regression from a noisy moment, nor a pass from a lucky one —
// and a comparison with an untested gated metric and no regression has its own outcome,
// "untested" (exit 3), never "no regression". --fail_untested asks instead for the threshold-only
// judgement of a single run. Only the gated metrics (--gate, default throughput and server_cpu)
// decide the outcome; the others are reported with the same verdicts.
//
// server_cpu is the servers' CPU time per request (bench/run/server-cpu.ts), known when the bench
// started the servers itself; a step is compared on it only when every trial on both sides has it.
//
// The deterministic gate: when both sides carry instruction counts (costs.json, `npm run costs`),
// they decide instead — instructions and system calls per request of each operation, worse by more
// than --max_cost_regression is a regression, with no test of significance because the counts do
// not vary from run to run (bench/analysis/costs.ts). The timed metrics are then reported, not
// gated: on a shared machine time moves ±20–40 % between runs, and no threshold on it guards 5 %.
// Without instruction counts on both sides the timed gate judges, and the comparison says why.

export const METRICS = ['throughput', 'server_cpu', 'p50', 'p99'] as const;
export type Metric = (typeof METRICS)[number];

export interface NoiseFloor {
  /** Where it was measured, e.g. "a1.json vs a2.json". */
  source: string;
  /** Largest |relative change| of a step median between two runs of the same build, per metric. */
  byMetric: Partial<Record<Metric, number>>;
}

export interface CompareOptions {
  /** Smallest relative change that counts (0.05 = 5 %). */
  maxRegression: number;
  /**
   * Trials during which the hypervisor stole more than this share of the machine's CPU are left
   * out (bench/analysis/steal-limit.ts): they measured a neighbour. null keeps every trial.
   */
  maxSteal: number | null;
  /** Significance level of the one-sided test. */
  alpha: number;
  /** Trials a side needed for the significance test. */
  minTrials: number;
  /** Below minTrials, let a change beyond the threshold fail anyway (threshold-only, noise-prone). */
  failUntested: boolean;
  /** Metrics whose regression fails the comparison. */
  gate: readonly Metric[];
  noiseFloor: NoiseFloor | null;
  bootstrapIterations: number;
  /** Seed of the bootstrap resampling: the same inputs always give the same intervals. */
  seed: number;
  /** Gate on instruction and system call counts when both sides have them (the timed metrics are then information). */
  gateCosts: boolean;
  /** Smallest relative change of a count per request that fails, per count. */
  costThresholds: Record<CostMetric, number>;
}

/** Both sides' costs.json (null: that side has none, `why` in words). */
export interface CostInputs {
  baseline: CostProfile | null;
  candidate: CostProfile | null;
  /** Why a side has no profile, e.g. "no costs.json in perf/baseline". */
  missing?: { baseline?: string; candidate?: string };
}

/** Which gate decided the outcome: the counts (deterministic) or the timed metrics (statistical). */
export type GateKind = 'counts' | 'timed';

export const DEFAULT_COMPARE_OPTIONS: CompareOptions = {
  maxRegression: 0.05,
  maxSteal: DISTURBED_STEAL_FRACTION,
  alpha: 0.05,
  minTrials: 3,
  failUntested: false,
  gate: ['throughput', 'server_cpu'],
  noiseFloor: null,
  bootstrapIterations: 2000,
  seed: 1,
  gateCosts: true,
  costThresholds: DEFAULT_COST_THRESHOLDS,
};

export type MetricVerdict =
  /** Worse beyond the threshold and significant (or, untested with --fail_untested, beyond the threshold). */
  | 'regression'
  | 'improvement'
  /** The medians moved less than the threshold (tested, or untested with --fail_untested). */
  | 'unchanged'
  /** Moved beyond the threshold, but the test could not tell it from noise. */
  | 'not-significant'
  /**
   * Too few trials to test (fewer than --min_trials a side, or too few for p ≤ α to be possible),
   * whatever the medians did: neither a regression nor a pass (see --fail_untested).
   */
  | 'untested';

export interface MetricComparison {
  metric: Metric;
  /** One value per trial; ops/s for throughput, µs per request for server_cpu, ms for latencies. */
  baseline: number[];
  candidate: number[];
  baselineMedian: number;
  candidateMedian: number;
  /** candidateMedian / baselineMedian − 1. */
  change: number;
  /** How much worse, as a fraction: positive = worse (lower throughput, higher latency). */
  worsening: number;
  /** One-sided p-value for "candidate worse", null when too few trials to test. */
  pWorse: number | null;
  pBetter: number | null;
  /** Bootstrap 95 % interval of candidate/baseline median ratio, null when too few trials. */
  ratioInterval: RatioInterval | null;
  threshold: number;
  /**
   * Smallest relative change this comparison detects with 80 % probability, from the spread of
   * the trials (pooled coefficient of variation) and their number; null when untested. A pass
   * says nothing about changes smaller than this.
   */
  detectableChange: number | null;
  gated: boolean;
  tested: boolean;
  verdict: MetricVerdict;
}

/** Power for MetricComparison.detectableChange. */
export const DETECTION_POWER = 0.8;

export type StepVerdict = MetricVerdict;

/** One step group present in both runs (identity fields as in StepGroup). */
export interface StepComparison extends Pick<StepGroup, 'key' | 'label' | 'workload' | 'serverCount' | 'phase' | 'loadFraction'> {
  baselineTrials: number;
  candidateTrials: number;
  /** Either side had a client-bound trial: the numbers may describe the load generator. */
  clientBound: boolean;
  metrics: MetricComparison[];
  /** Worst verdict of the gated metrics (regression > untested > not-significant > improvement > unchanged). */
  verdict: StepVerdict;
  /** Some non-gated metric regressed: shown, does not fail the comparison. */
  ungatedRegression: boolean;
}

/**
 * What the comparison as a whole says, and so compare's exit code (OUTCOME_EXIT_CODES):
 * 'regression' — a gated metric regressed; 'untested' — none did, but some gated metric could not
 * be tested (or no compared step has one), so nothing can be said about it; 'pass' — every gated
 * metric was tested and none regressed.
 */
export type CompareOutcome = 'pass' | 'regression' | 'untested';

/**
 * compare's exit codes, the contract CI scripts rely on: 0 pass, 1 regression, 3 untested (not a
 * pass: a job that reads any non-zero code as failure cannot mistake it for one). 2 is taken by
 * "could not compare" (unreadable inputs, no step in common, bad flags: the KV_ERR_* errors).
 */
export const OUTCOME_EXIT_CODES: Readonly<Record<CompareOutcome, number>> = { pass: 0, regression: 1, untested: 3 };

/** How many trials a side would make the comparison conclusive. */
export interface TrialsNeeded {
  /** Trials a side that make p ≤ α reachable (and meet --min_trials): fewer can test nothing. */
  toTest: number;
  /**
   * Trials a side that catch a change as large as the threshold with DETECTION_POWER probability,
   * given how much single trials varied here (the noisiest gated metric); null when no side had two
   * trials of any gated metric to measure that.
   */
  toDetect: number | null;
  /** The gated metric whose noise sets toDetect: its step, one trial's coefficient of variation, its threshold. */
  noisiest: { step: string; metric: Metric; cv: number; threshold: number } | null;
}

export interface Comparison {
  baselineLabel: string;
  candidateLabel: string;
  options: CompareOptions;
  steps: StepComparison[];
  /** Step labels present on one side only. */
  onlyInBaseline: string[];
  onlyInCandidate: string[];
  /** Gated regressions: the comparison fails when > 0. */
  regressions: number;
  improvements: number;
  /** Steps whose gated verdict is 'untested'. */
  untested: number;
  outcome: CompareOutcome;
  /** null when no compared step has a gated metric. */
  trialsNeeded: TrialsNeeded | null;
  /** Thresholds actually used, per metric. */
  thresholds: Record<Metric, number>;
  warnings: string[];
  /** Trials left out of each side for steal above --max_steal. */
  disturbedTrials: { baseline: number; candidate: number };
  /** outcome === 'regression' (kept for readers of --json). */
  failed: boolean;
  /** Which gate judged: 'counts' when both sides had instruction counts (and --gate_costs), else 'timed'. */
  gateKind: GateKind;
  /** The counts of both sides judged against each other; null when a side had none. */
  costs: CostComparison | null;
  /** Why the timed gate judged although counts were looked for; null when the counts judged or none were given. */
  timedFallback: string | null;
  /** Timed steps with a gated regression (with the counts gate: 0, the timed metrics are not gated). */
  timedRegressions: number;
}

/** Metrics that mean something for a step: saturation throughput and its CPU cost for closed-loop steps, latency for all. */
export function metricsFor(phase: StepResult['phase']): Metric[] {
  // An open-loop step's throughput is the offered rate the harness chose, not a measurement of the
  // server, so only latency is compared there (and CPU per request, which at partial load depends
  // on how requests happened to batch); closed-loop latency follows from its throughput and
  // concurrency (Little's law), but its tail is still worth seeing.
  return phase === 'max' ? ['throughput', 'server_cpu', 'p50', 'p99'] : ['p50', 'p99'];
}

/** The group has the metric on every trial (server_cpu is missing for servers the bench did not start). */
export function hasMetric(group: StepGroup, metric: Metric): boolean {
  return metric !== 'server_cpu' || group.steps.every((s) => typeof s.serverCpuUsPerRequest === 'number');
}

/** The per-trial values of a metric: ops/s for throughput, µs per request for server_cpu, ms for latencies. */
export function metricValues(group: StepGroup, metric: Metric): number[] {
  return group.steps.map((s) => {
    switch (metric) {
      case 'throughput':
        return s.achievedOpsPerSec;
      case 'server_cpu':
        return s.serverCpuUsPerRequest ?? NaN;
      case 'p50':
        return s.total.latency.p50Us / 1000;
      case 'p99':
        return s.total.latency.p99Us / 1000;
    }
  });
}

export function higherIsBetter(metric: Metric): boolean {
  return metric === 'throughput';
}

/** Effective threshold per metric: --max_regression, raised to the A/A noise floor when known. */
export function thresholdsFor(options: CompareOptions): Record<Metric, number> {
  const t = {} as Record<Metric, number>;
  for (const m of METRICS) t[m] = Math.max(options.maxRegression, options.noiseFloor?.byMetric[m] ?? 0);
  return t;
}

function compareMetric(metric: Metric, base: number[], cand: number[], options: CompareOptions, threshold: number, random: () => number): MetricComparison {
  const baselineMedian = median(base);
  const candidateMedian = median(cand);
  const change = relativeChange(baselineMedian, candidateMedian);
  const worsening = higherIsBetter(metric) ? -change : change;
  const tested = isTestable(base.length, cand.length, options);
  let pWorse: number | null = null;
  let pBetter: number | null = null;
  let ratioInterval: RatioInterval | null = null;
  let detectableChange: number | null = null;
  if (tested) {
    const cv = baselineMedian > 0 ? Math.sqrt((stdev(base) ** 2 + stdev(cand) ** 2) / 2) / baselineMedian : Infinity;
    detectableChange = detectableShift(cv, base.length, cand.length, options.alpha, DETECTION_POWER);
    const u = mannWhitneyU(cand, base);
    pWorse = higherIsBetter(metric) ? u.pLess : u.pGreater;
    pBetter = higherIsBetter(metric) ? u.pGreater : u.pLess;
    if (baselineMedian > 0) ratioInterval = bootstrapMedianRatio(base, cand, { iterations: options.bootstrapIterations, random });
  }
  let verdict: MetricVerdict;
  const beyond = Math.abs(worsening) > threshold;
  if (!tested && !options.failUntested) verdict = 'untested';
  else if (!beyond) verdict = 'unchanged';
  // --fail_untested: the threshold alone decides an untested metric.
  else if (!tested) verdict = worsening > 0 ? 'regression' : 'improvement';
  else if (worsening > 0) verdict = pWorse! <= options.alpha ? 'regression' : 'not-significant';
  else verdict = pBetter! <= options.alpha ? 'improvement' : 'not-significant';
  return {
    metric,
    baseline: base,
    candidate: cand,
    baselineMedian,
    candidateMedian,
    change,
    worsening,
    pWorse,
    pBetter,
    ratioInterval,
    threshold,
    detectableChange,
    gated: options.gate.includes(metric),
    tested,
    verdict,
  };
}

/** Trials enough to test: ≥ --min_trials a side, and numbers that can reach p ≤ α at all. */
export function isTestable(baselineTrials: number, candidateTrials: number, options: Pick<CompareOptions, 'minTrials' | 'alpha'>): boolean {
  return Math.min(baselineTrials, candidateTrials) >= options.minTrials && smallestOneSidedP(baselineTrials, candidateTrials) <= options.alpha;
}

const VERDICT_RANK: Record<StepVerdict, number> = { unchanged: 0, improvement: 1, 'not-significant': 2, untested: 3, regression: 4 };

/**
 * Trials a side for a conclusive comparison: enough to test at all, and — from the spread of the
 * trials each side has (pooled, so a side of one trial adds nothing) — enough to catch a change of
 * each gated metric's threshold; the noisiest gated metric decides. null without gated metrics.
 */
export function trialsNeededFor(steps: readonly StepComparison[], options: Pick<CompareOptions, 'minTrials' | 'alpha'>): TrialsNeeded | null {
  const gated = steps.flatMap((s) => s.metrics.filter((m) => m.gated).map((m) => ({ s, m })));
  if (gated.length === 0) return null;
  const toTest = Math.max(options.minTrials, trialsToReachAlpha(options.alpha));
  let noisiest: TrialsNeeded['noisiest'] = null;
  let toDetect: number | null = null;
  for (const { s, m } of gated) {
    const cv = pooledRelativeSpread([m.baseline, m.candidate], m.baselineMedian);
    if (cv === null) continue;
    const n = Math.max(toTest, trialsToDetect(cv, m.threshold, options.alpha, DETECTION_POWER));
    if (toDetect === null || n > toDetect) {
      toDetect = n;
      noisiest = { step: s.label, metric: m.metric, cv, threshold: m.threshold };
    }
  }
  return { toTest, toDetect, noisiest };
}

/** Compares every step the two runs have in common. Throws CompareMismatchError when there is none. */
export function compareRuns(baseline: RunResult, candidate: RunResult, partial: Partial<CompareOptions> = {}, costInputs: CostInputs | null = null): Comparison {
  const requested: CompareOptions = { ...DEFAULT_COMPARE_OPTIONS, ...partial };
  const { costs, gateKind, timedFallback } = judgeCosts(costInputs, requested);
  // With the counts gate the timed metrics are still compared, only not gated.
  const options: CompareOptions = gateKind === 'counts' ? { ...requested, gate: [] } : requested;
  const thresholds = thresholdsFor(options);
  const random = seededRandom(options.seed);
  const disturbed = (s: StepResult): boolean => disturbedBySteal(s.stealFraction, options.maxSteal);
  const leftOut = { baseline: baseline.steps.filter(disturbed).length, candidate: candidate.steps.filter(disturbed).length };
  const baseGroups = groupSteps(baseline.steps.filter((s) => !disturbed(s)));
  const candGroups = new Map(groupSteps(candidate.steps.filter((s) => !disturbed(s))).map((g) => [g.key, g]));
  const baseKeys = new Set(baseGroups.map((g) => g.key));
  const warnings: string[] = [];
  const steps: StepComparison[] = [];

  for (const bg of baseGroups) {
    const cg = candGroups.get(bg.key);
    if (!cg) continue;
    const metrics = metricsFor(bg.phase)
      .filter((m) => hasMetric(bg, m) && hasMetric(cg, m))
      .map((m) => compareMetric(m, metricValues(bg, m), metricValues(cg, m), options, thresholds[m], random));
    const gatedMetrics = metrics.filter((m) => m.gated);
    let verdict: StepVerdict = 'unchanged';
    for (const m of gatedMetrics) if (VERDICT_RANK[m.verdict] > VERDICT_RANK[verdict]) verdict = m.verdict;
    steps.push({
      key: bg.key,
      label: bg.label,
      workload: bg.workload,
      serverCount: bg.serverCount,
      phase: bg.phase,
      loadFraction: bg.loadFraction,
      baselineTrials: bg.steps.length,
      candidateTrials: cg.steps.length,
      clientBound: [...bg.steps, ...cg.steps].some((s) => s.client.clientBound),
      metrics,
      verdict,
      ungatedRegression: metrics.some((m) => !m.gated && m.verdict === 'regression'),
    });
  }
  const onlyInBaseline = baseGroups.filter((g) => !candGroups.has(g.key)).map((g) => g.label);
  const onlyInCandidate = [...candGroups.values()].filter((g) => !baseKeys.has(g.key)).map((g) => g.label);
  if (steps.length === 0) {
    throw new CompareMismatchError(
      `the runs have no step in common (baseline: ${describeKeys(baseGroups)}; candidate: ${describeKeys([...candGroups.values()])}); ` +
        (leftOut.baseline + leftOut.candidate > 0
          ? `${leftOut.baseline} baseline and ${leftOut.candidate} candidate trial(s) were left out because the hypervisor took more than ${(options.maxSteal! * 100).toFixed(0)}% of the CPU during them: rerun on a quieter machine, or raise --max_steal`
          : 'run both with the same --workloads, --server_counts, --mode and --load_levels'),
    );
  }
  if (leftOut.baseline + leftOut.candidate > 0) {
    warnings.push(
      `${leftOut.baseline} baseline and ${leftOut.candidate} candidate trial(s) left out: the hypervisor took more than ${(options.maxSteal! * 100).toFixed(0)}% of the machine's CPU during them (steal; --max_steal)`,
    );
  }
  if (onlyInBaseline.length > 0 || onlyInCandidate.length > 0) {
    warnings.push(`${onlyInBaseline.length + onlyInCandidate.length} step(s) exist on one side only and are not compared`);
  }
  const gatedSteps = steps.filter((s) => s.metrics.some((m) => m.gated));
  if (gatedSteps.length === 0 && gateKind === 'timed') {
    warnings.push(
      `no compared step has a gated metric (--gate ${options.gate.join(',')}); closed-loop (max) steps carry throughput (and server_cpu when the bench started the servers on Linux), every step carries p50/p99`,
    );
  }
  const untestable = steps.filter((s) => s.metrics.some((m) => m.gated) && !isTestable(s.baselineTrials, s.candidateTrials, options));
  if (untestable.length > 0) {
    const worst = untestable.reduce((a, b) => (smallestOneSidedP(b.baselineTrials, b.candidateTrials) > smallestOneSidedP(a.baselineTrials, a.candidateTrials) ? b : a));
    const n1 = worst.baselineTrials;
    const n2 = worst.candidateTrials;
    const why =
      Math.min(n1, n2) < options.minTrials
        ? `fewer than --min_trials ${options.minTrials} trials a side (fewest: ${n1} baseline, ${n2} candidate)`
        : `with ${n1} and ${n2} trials the smallest possible p is ${smallestOneSidedP(n1, n2).toFixed(3)} > --alpha ${options.alpha}`;
    warnings.push(
      `${untestable.length} step(s) with a gated metric could not be tested: ${why}; ${options.failUntested ? 'judged on the threshold alone (--fail_untested: noise can fail them)' : 'their verdict is "untested", neither a pass nor a regression'}`,
    );
  }
  const blind = steps.flatMap((s) => s.metrics.filter((m) => m.gated && m.detectableChange !== null && m.detectableChange > 2 * m.threshold).map((m) => ({ s, m })));
  if (blind.length > 0) {
    const worst = blind.reduce((a, b) => (b.m.detectableChange! > a.m.detectableChange! ? b : a));
    const cv = pooledRelativeSpread([worst.m.baseline, worst.m.candidate], worst.m.baselineMedian);
    const needed = cv === null ? Infinity : trialsToDetect(cv, worst.m.threshold, options.alpha, DETECTION_POWER);
    warnings.push(
      `the trials are too noisy to guard the threshold: ${blind.length} gated metric(s) could only reliably catch changes above twice it (worst: ${worst.m.metric} of "${worst.s.label}", ${Number.isFinite(worst.m.detectableChange!) ? `${(worst.m.detectableChange! * 100).toFixed(0)}%` : 'nothing'}); a pass here is weak evidence — ${Number.isFinite(needed) ? `≈ ${needed} trials a side would catch a change of the threshold, or ` : ''}quieten the machine`,
    );
  }
  if (options.gate.includes('server_cpu')) {
    const maxSteps = steps.filter((s) => s.phase === 'max');
    const without = maxSteps.filter((s) => !s.metrics.some((m) => m.metric === 'server_cpu')).length;
    const others = options.gate.filter((m) => m !== 'server_cpu');
    const fallback = others.length > 0 ? `judged on ${others.join(', ')} only` : 'nothing else is gated';
    if (without > 0 && without === maxSteps.length) {
      warnings.push(`server_cpu is gated but these results carry no server CPU figures (the bench did not start the servers, or not on Linux): ${fallback}`);
    } else if (without > 0) {
      warnings.push(`server_cpu: ${without} closed-loop step(s) lack server CPU figures on some trial (a server restarted by --chaos, or results of another kind): ${fallback}`);
    }
  }
  const cb = steps.filter((s) => s.clientBound && s.metrics.some((m) => m.gated));
  if (cb.length > 0) warnings.push(`${cb.length} gated step(s) were client-bound on some trial: the load generator, not the server, may have set their numbers`);
  const timedRegressions = steps.filter((s) => s.verdict === 'regression').length;
  // System call counts judged without instruction counts still gate: they are exact either way.
  const costRegressions = costs === null ? 0 : costs.regressions;
  const regressions = timedRegressions + costRegressions;
  const improvements = steps.filter((s) => s.verdict === 'improvement').length + (costs === null ? 0 : costs.improvements);
  const untested = steps.filter((s) => s.verdict === 'untested').length;
  if (costs !== null) warnings.push(...costs.notes);
  if (timedFallback !== null) warnings.push(`judged by the timed gate: ${timedFallback}`);
  // Nothing gated measured is nothing tested: "no regression" would claim what was never looked at.
  const outcome: CompareOutcome =
    regressions > 0 ? 'regression' : gateKind === 'counts' ? 'pass' : untested > 0 || gatedSteps.length === 0 ? 'untested' : 'pass';
  return {
    baselineLabel: baseline.label || baseline.target,
    candidateLabel: candidate.label || candidate.target,
    options: requested,
    steps,
    onlyInBaseline,
    onlyInCandidate,
    regressions,
    improvements,
    untested,
    outcome,
    trialsNeeded: trialsNeededFor(steps, options),
    thresholds,
    warnings,
    disturbedTrials: leftOut,
    failed: outcome === 'regression',
    gateKind,
    costs,
    timedFallback,
    timedRegressions,
  };
}

/**
 * Which gate judges, and the counts' comparison: the counts when --gate_costs and both sides have
 * instruction counts; otherwise the timed metrics, with the reason when counts were looked for
 * (inputs given). The system call counts are judged whenever both sides have them.
 */
export function judgeCosts(inputs: CostInputs | null, options: Pick<CompareOptions, 'gateCosts' | 'costThresholds'>): { costs: CostComparison | null; gateKind: GateKind; timedFallback: string | null } {
  if (inputs === null || !options.gateCosts) return { costs: null, gateKind: 'timed', timedFallback: inputs !== null ? 'the count gate is off (--no-gate_costs)' : null };
  if (inputs.baseline === null || inputs.candidate === null) {
    const sides = (['baseline', 'candidate'] as const).filter((side) => inputs[side] === null);
    const why = sides.map((side) => inputs.missing?.[side] ?? `the ${side} has no costs.json`).join('; ');
    return { costs: null, gateKind: 'timed', timedFallback: `no instruction counts on ${sides.length === 2 ? 'either side' : `the ${sides[0]} side`} (${why})` };
  }
  const costs = compareCosts(inputs.baseline, inputs.candidate, options.costThresholds);
  if (costs.judged.includes('instructions')) return { costs, gateKind: 'counts', timedFallback: null };
  const why = costs.unjudged.find((u) => u.metric === 'instructions')?.why ?? 'instructions were not measured';
  return { costs, gateKind: 'timed', timedFallback: `instructions ${why}` };
}

function describeKeys(groups: StepGroup[]): string {
  if (groups.length === 0) return 'no steps';
  const labels = groups.map((g) => g.label);
  return labels.length > 4 ? `${labels.slice(0, 4).join(', ')} … (${labels.length})` : labels.join(', ');
}

/**
 * The noise floor of a machine from two runs of the same build (A/A): per metric, the largest
 * |relative change| of a step's median between them. Changes smaller than this are what the
 * machine does on its own; using it as the threshold keeps noise from failing comparisons.
 */
export function noiseFloorFrom(a: RunResult, b: RunResult, source: string, maxSteal: number | null = DEFAULT_COMPARE_OPTIONS.maxSteal): NoiseFloor {
  const comparison = compareRuns(a, b, { minTrials: Number.MAX_SAFE_INTEGER, maxRegression: 0, gate: [], maxSteal });
  const byMetric: Partial<Record<Metric, number>> = {};
  for (const s of comparison.steps) {
    for (const m of s.metrics) {
      if (!Number.isFinite(m.change)) continue;
      byMetric[m.metric] = Math.max(byMetric[m.metric] ?? 0, Math.abs(m.change));
    }
  }
  return { source, byMetric };
}
