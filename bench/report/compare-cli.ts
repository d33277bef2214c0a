import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compareRuns, METRICS, noiseFloorFrom, DEFAULT_COMPARE_OPTIONS, OUTCOME_EXIT_CODES, type CompareOptions, type Comparison, type CostInputs, type Metric } from '../analysis/compare.js';
import { costProfileProblem, type CostProfile } from '../analysis/costs.js';
import { comparisonMarkdown, comparisonText } from './comparison-text.js';
import { latencyThroughputData, operationsIn } from './chart-data.js';
import { renderOverlay } from './charts.js';
import { parseCliArgs, parsePercent } from './cli-args.js';
import { flagTable, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { ReportUsageError, ResultsInputError } from '../errors.js';
import { readSide } from './load-results.js';
import type { RunResult } from '../results.js';

// `npm run compare -- <baseline> <candidate>`: the table on stdout, optional markdown and overlay
// charts, and the exit code a CI job trusts: 0 no regression, 1 regression, 2 could not compare,
// 3 untested (too few trials to test: not a pass). A costs.json beside each side's results
// (`npm run costs`) makes the instruction and system call counts the gate.

export const COMPARE_OPTIONS = {
  max_regression: { type: 'string', default: '5%', describe: 'smallest worsening that fails, in percent ("5%" or "5"); raised to the noise floor when --noise is given' },
  max_steal: {
    type: 'string',
    default: '5%',
    describe: 'leave out trials during which the hypervisor took more than this share of the machine\'s CPU (/proc/stat steal: another tenant); "100%" keeps every trial',
  },
  alpha: { type: 'number', default: DEFAULT_COMPARE_OPTIONS.alpha, describe: 'significance level of the one-sided Mann–Whitney U test (with ≥ --min_trials trials a side)' },
  min_trials: { type: 'number', default: DEFAULT_COMPARE_OPTIONS.minTrials, describe: 'trials a side needed for the significance test; a step with fewer is untested (exit 3 unless something regressed), whatever its medians did' },
  fail_untested: {
    type: 'boolean',
    default: false,
    describe: 'judge steps too few trials to test on the median change alone: beyond the threshold fails (exit 1), within it passes (a fixed-threshold check: noise can fail it, a lucky run pass it)',
  },
  skip_trials: { type: 'number', default: 0, describe: 'ignore the first K trials of every run (warm-up: a fresh server is slower while its JIT compiles); runs need --trials > K' },
  gate: { type: 'string', default: DEFAULT_COMPARE_OPTIONS.gate.join(','), describe: `metrics whose regression fails the comparison, comma-separated: ${METRICS.join(', ')} (others are reported only)` },
  gate_costs: {
    type: 'boolean',
    default: true,
    describe: 'when both sides have a costs.json (npm run costs) beside their results, gate on instructions and system calls per request instead of the timed metrics, which are then reported only (--no-gate_costs: the timed gate)',
  },
  max_cost_regression: { type: 'string', default: '2%', describe: 'smallest increase of instructions or system calls per request that fails (same-build counts moved by up to 1.4% here)' },
  noise: { type: 'string', array: true, describe: 'two A/A runs of the same build (files or folders): their largest step difference is the noise floor, and thresholds rise to it' },
  markdown: { type: 'string', describe: 'also write the markdown summary to this file (it is appended to $GITHUB_STEP_SUMMARY when that is set)' },
  chart_dir: { type: 'string', default: 'reports/compare', describe: 'folder for the overlay charts <op>-overlay.png' },
  charts: { type: 'boolean', default: true, describe: 'draw the overlay charts (--no-charts to skip)' },
  json: { type: 'boolean', default: false, describe: 'print the comparison as JSON on stdout instead of the table' },
  seed: { type: 'number', default: DEFAULT_COMPARE_OPTIONS.seed, describe: 'seed of the bootstrap intervals (same inputs + seed → same output)' },
} as const satisfies Record<string, FlagSpec>;

const USAGE =
  'Usage: $0 <baseline> <candidate> [options]\n\n' +
  'Compares two bench runs step by step (results.json files, run folders, or folders of runs whose trials are combined).\n' +
  'Exit code: 0 no regression, 1 a gated metric regressed (significant and beyond the threshold), 2 inputs could not be compared,\n' +
  '3 untested: no regression found, but some gated metric had too few trials to test (not a pass).';

export interface CompareInvocation {
  baseline: string;
  candidate: string;
  noise: [string, string] | null;
  skipTrials: number;
  options: Partial<CompareOptions>;
  markdown: string | null;
  chartDir: string | null;
  json: boolean;
}

/** Parses compare's arguments; throws ReportUsageError naming the flag. Null for --help (printed). */
export function parseCompareArgs(args: string[]): CompareInvocation | { help: string } {
  const outcome = parseCliArgs('compare', USAGE, COMPARE_OPTIONS, args);
  if (outcome.kind === 'help') return { help: outcome.text };
  const a = outcome.argv;
  const positional = a._.map(String);
  if (positional.length !== 2) throw new ReportUsageError(`compare needs exactly two inputs, <baseline> <candidate>, got ${positional.length}`);
  const gate = String(a['gate'])
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = gate.filter((m) => !(METRICS as readonly string[]).includes(m));
  if (unknown.length) throw new ReportUsageError(`--gate: unknown metric(s) ${unknown.join(', ')}; choose from ${METRICS.join(', ')}`);
  const alpha = Number(a['alpha']);
  if (!(alpha > 0 && alpha < 1)) throw new ReportUsageError(`--alpha must be between 0 and 1, got ${String(a['alpha'])}`);
  const minTrials = Number(a['min_trials']);
  if (!Number.isInteger(minTrials) || minTrials < 1) throw new ReportUsageError(`--min_trials must be an integer ≥ 1, got ${String(a['min_trials'])}`);
  const skipTrials = Number(a['skip_trials']);
  if (!Number.isInteger(skipTrials) || skipTrials < 0) throw new ReportUsageError(`--skip_trials must be an integer ≥ 0, got ${String(a['skip_trials'])}`);
  const seed = Number(a['seed']);
  if (!Number.isInteger(seed)) throw new ReportUsageError(`--seed must be an integer, got ${String(a['seed'])}`);
  const costThreshold = parsePercent('max_cost_regression', a['max_cost_regression']);
  const noiseArg = a['noise'];
  let noise: [string, string] | null = null;
  if (noiseArg !== undefined) {
    const list = (Array.isArray(noiseArg) ? noiseArg : [noiseArg]).map(String);
    if (list.length !== 2) throw new ReportUsageError(`--noise needs two A/A runs of the same build, --noise <a> <b>, got ${list.length}`);
    noise = [list[0]!, list[1]!];
  }
  return {
    baseline: positional[0]!,
    candidate: positional[1]!,
    noise,
    skipTrials,
    options: {
      maxRegression: parsePercent('max_regression', a['max_regression']),
      maxSteal: parseMaxSteal(a['max_steal']),
      alpha,
      minTrials,
      failUntested: a['fail_untested'] === true,
      gate: gate as Metric[],
      seed,
      gateCosts: a['gate_costs'] !== false,
      costThresholds: { instructions: costThreshold, syscalls: costThreshold },
    },
    markdown: typeof a['markdown'] === 'string' ? a['markdown'] : null,
    chartDir: a['charts'] === false ? null : String(a['chart_dir']),
    json: a['json'] === true,
  };
}

/**
 * The costs.json of a compare input: inside it when it is a folder, beside it when it is a file.
 * `{ profile: null, why }` when there is none; a file that is not a costs profile is a
 * ResultsInputError (exit 2): a gate must not quietly ignore the evidence it was given.
 */
export async function readCostsBeside(input: string): Promise<{ profile: CostProfile | null; why: string }> {
  const folder = await stat(input).then(
    (st) => (st.isDirectory() ? input : dirname(input)),
    () => dirname(input),
  );
  const path = join(folder, 'costs.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return { profile: null, why: `no costs.json in ${folder} (npm run costs -- --out ${path} makes one)` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ResultsInputError(`${path} is not JSON (${(err as Error).message}): measure again with npm run costs`);
  }
  const problem = costProfileProblem(parsed);
  if (problem !== null) throw new ResultsInputError(`${path} is not a kvring costs file: ${problem}; measure again with npm run costs`);
  return { profile: parsed as CostProfile, why: '' };
}

/** Both sides' costs.json; null when neither has one (then compare is the timed comparison alone, as always). */
export async function readCostInputs(baseline: string, candidate: string): Promise<CostInputs | null> {
  const [b, c] = await Promise.all([readCostsBeside(baseline), readCostsBeside(candidate)]);
  if (b.profile === null && c.profile === null) return null;
  return { baseline: b.profile, candidate: c.profile, missing: { baseline: b.why || undefined, candidate: c.why || undefined } };
}

/** --max_steal: a percentage below 100, or 100% to keep every trial (null). */
function parseMaxSteal(value: unknown): number | null {
  return /^100(\.0*)?\s*%?$/.test(String(value).trim()) ? null : parsePercent('max_steal', value);
}

/** Writes `<op>-overlay.png` per operation both runs measured; returns the paths. */
export async function writeOverlays(baseline: RunResult, candidate: RunResult, comparison: Comparison, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const candidateOps = operationsIn(candidate);
  const ops = operationsIn(baseline).filter((op) => candidateOps.includes(op));
  const verdict =
    comparison.outcome === 'regression'
      ? `${comparison.regressions} regression(s)`
      : comparison.outcome === 'untested'
        ? 'UNTESTED (too few trials to test; not a pass)'
        : 'no regression';
  for (const op of ops) {
    const b = latencyThroughputData(baseline, op);
    const c = latencyThroughputData(candidate, op);
    if (b.series.length === 0 && c.series.length === 0) continue;
    const png = await renderOverlay({
      title: `${op.toUpperCase()} p99 latency vs throughput: candidate vs baseline`,
      subtitle: [c.subtitle, `verdict: ${verdict}`],
      baselineLabel: comparison.baselineLabel,
      candidateLabel: comparison.candidateLabel,
      baseline: b,
      candidate: c,
    });
    const path = join(dir, `${op}-overlay.png`);
    await writeFile(path, png);
    written.push(path);
  }
  return written;
}

export async function runCompare(args: string[]): Promise<number> {
  const inv = parseCompareArgs(args);
  if ('help' in inv) {
    process.stdout.write(`${inv.help}\n`);
    return 0;
  }
  const baseline = await readSide(inv.baseline, inv.skipTrials);
  const candidate = await readSide(inv.candidate, inv.skipTrials);
  const options: Partial<CompareOptions> = { ...inv.options };
  if (inv.noise) {
    const [a, b] = await Promise.all(inv.noise.map((p) => readSide(p, inv.skipTrials)));
    options.noiseFloor = noiseFloorFrom(a!.result, b!.result, `${inv.noise[0]} vs ${inv.noise[1]}`, options.maxSteal);
  }
  const comparison = compareRuns(baseline.result, candidate.result, options, await readCostInputs(inv.baseline, inv.candidate));
  const charts = inv.chartDir ? await writeOverlays(baseline.result, candidate.result, comparison, inv.chartDir) : [];
  if (inv.json) process.stdout.write(`${JSON.stringify(comparison, null, 2)}\n`);
  else {
    const warmup = inv.skipTrials > 0 ? `(the first ${inv.skipTrials} trial(s) of every run were skipped as warm-up)\n` : '';
    process.stdout.write(comparisonText(comparison) + warmup + (charts.length ? `overlay charts: ${charts.join(', ')}\n` : ''));
  }
  const md = comparisonMarkdown(comparison, { charts, baselinePaths: baseline.paths, candidatePaths: candidate.paths, skipTrials: inv.skipTrials });
  if (inv.markdown) {
    await mkdir(dirname(inv.markdown), { recursive: true });
    await writeFile(inv.markdown, md);
  }
  const summary = process.env['GITHUB_STEP_SUMMARY'];
  if (summary) await appendFile(summary, `${md}\n`);
  return OUTCOME_EXIT_CODES[comparison.outcome];
}

/** README's flag table for compare. */
export function compareFlagTable(): string {
  return flagTable(COMPARE_OPTIONS);
}

runIfMain(import.meta.url, runCompare);
