import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareRuns, judgeCosts, DEFAULT_COMPARE_OPTIONS, OUTCOME_EXIT_CODES } from '../bench/analysis/compare.js';
import { COSTS_FORMAT, metricCosts, type CostProfile } from '../bench/analysis/costs.js';
import { DEFAULT_COST_SEQUENCE } from '../bench/costs/sequence.js';
import { comparisonMarkdown, comparisonText, gateText } from '../bench/report/comparison-text.js';
import { makeRunResult } from './helpers/results-fixture.js';

// compare with instruction and system call counts (costs.json on both sides): the counts gate,
// the timed figures are information; without counts on a side, the timed gate, labelled as a
// fallback with the reason. Then the compare CLI end to end with costs.json beside the runs.

const plan = { serverCounts: [1], workloads: ['put'], fractions: [0.5], samplesPerStep: 100 };
const SPEC = DEFAULT_COST_SEQUENCE;

type PerOp = { put: number; get: number; delete: number };

function profile(instr: PerOp | null, sys: PerOp | null): CostProfile {
  const extra = SPEC.longRequests - SPEC.shortRequests;
  const totals = (per: PerOp): { base: number; put: number; get: number; delete: number } => ({ base: 1e9, put: 1e9 + per.put * extra, get: 1e9 + per.get * extra, delete: 1e9 + per.delete * extra });
  return {
    format: COSTS_FORMAT,
    server: 'dist/server/main.js',
    node: process.version,
    sequence: SPEC,
    instructions: instr === null ? null : metricCosts('cachegrind', totals(instr), SPEC),
    syscalls: sys === null ? null : metricCosts('strace', totals(sys), SPEC, undefined),
    missing: instr === null ? { instructions: 'valgrind is not installed (apt-get install valgrind)' } : {},
    elapsedSec: 80,
  };
}

const I = { put: 9000, get: 8000, delete: 7200 };
const S = { put: 0.25, get: 0.25, delete: 0.25 };
const scaled = (p: PerOp, f: Partial<PerOp>): PerOp => ({ put: p.put * (f.put ?? 1), get: p.get * (f.get ?? 1), delete: p.delete * (f.delete ?? 1) });

test('equal counts pass even when the timed figures say a significant 10% slowdown: time is information under the counts gate', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 1 });
  const cand = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 2, slowdown: 0.1 });
  assert.equal(compareRuns(base, cand).outcome, 'regression', 'the timed gate alone fails it');
  const c = compareRuns(base, cand, {}, { baseline: profile(I, S), candidate: profile(I, S) });
  assert.equal(c.gateKind, 'counts');
  assert.equal(c.outcome, 'pass');
  assert.equal(c.timedRegressions, 0);
  assert.ok(c.steps.every((s) => s.metrics.every((m) => !m.gated)), 'no timed metric is gated');
  const max = c.steps.find((s) => s.phase === 'max')!;
  assert.equal(max.metrics.find((m) => m.metric === 'throughput')!.verdict, 'regression', 'the timed verdict is still reported');
  assert.deepEqual(c.warnings, []);
  const md = comparisonMarkdown(c);
  assert.match(md, /✅ no regression/);
  assert.match(md, /Gate: instructions and system calls per request of PUT, GET, DELETE, counted .* not timed/);
  assert.match(md, /\| PUT \| 9,000 → 9,000 \(±0\.0%\) \| 0\.250 → 0\.250 \(±0\.0%\) \| unchanged \|/);
  assert.match(md, /Timed figures \(information, not gated\):/);
  assert.match(comparisonText(c), /not gated: worse throughput −\d+\.\d% p=/);
  assert.match(comparisonText(c), /RESULT: no regression \(exit 0\)/);
});

test('3% more instructions per PUT fails at the default 2%, whatever the timed figures did', () => {
  const run = makeRunResult({ ...plan, trials: 5, noise: 0.02 });
  const c = compareRuns(run, run, {}, { baseline: profile(I, S), candidate: profile(scaled(I, { put: 1.03 }), S) });
  assert.equal(c.outcome, 'regression');
  assert.equal(OUTCOME_EXIT_CODES[c.outcome], 1);
  assert.equal(c.regressions, 1);
  assert.match(comparisonText(c), /PUT\s+9,000 → 9,270 \(\+3\.0%\)\s+0\.250 → 0\.250 \(±0\.0%\)\s+REGRESSION: instructions \+3\.0%/);
  assert.match(comparisonText(c), /RESULT: 1 regression \(exit 1\)/);
  // At --max_cost_regression 4% the same change is within the threshold.
  assert.equal(compareRuns(run, run, { costThresholds: { instructions: 0.04, syscalls: 0.04 } }, { baseline: profile(I, S), candidate: profile(scaled(I, { put: 1.03 }), S) }).outcome, 'pass');
});

test('replies written one by one: the system calls per request regress and the summary names the call', () => {
  const run = makeRunResult({ ...plan, trials: 5, noise: 0.02 });
  const base = profile(I, S);
  const cand = profile(I, { put: 1.125, get: 1.125, delete: 1.125 });
  base.syscalls!.byName = { put: { read: 0.125, write: 0.125 }, get: { read: 0.125, write: 0.125 }, delete: { read: 0.125, write: 0.125 } };
  cand.syscalls!.byName = { put: { read: 0.125, write: 1 }, get: { read: 0.125, write: 1 }, delete: { read: 0.125, write: 1 } };
  const c = compareRuns(run, run, {}, { baseline: base, candidate: cand });
  assert.equal(c.outcome, 'regression');
  assert.equal(c.regressions, 3);
  assert.match(comparisonMarkdown(c), /\| GET \| 8,000 → 8,000 \(±0\.0%\) \| 0\.250 → 1\.125 \(\+350\.0%\) \| ❌ REGRESSION: system calls \+350\.0% \(per request: write 0\.125 → 1\.000\) \|/);
});

test('without instruction counts on a side the timed gate judges, labelled as a fallback with the reason; system calls still gate', () => {
  const base = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 1 });
  const cand = makeRunResult({ ...plan, trials: 5, noise: 0.02, seed: 2 });
  const c = compareRuns(base, cand, {}, { baseline: profile(I, S), candidate: profile(null, S) });
  assert.equal(c.gateKind, 'timed');
  assert.match(c.timedFallback!, /^instructions not measured on the candidate: valgrind is not installed \(apt-get install valgrind\)$/);
  assert.ok(c.steps.some((s) => s.metrics.some((m) => m.gated)), 'the timed metrics are gated again');
  assert.match(gateText(c), /^Gate: TIMED \(fallback\) — instructions not measured on the candidate: valgrind is not installed .* System calls per request are still gated/);
  assert.match(comparisonMarkdown(c), /Gate: TIMED \(fallback\)/);
  assert.ok(c.warnings.some((w) => /^judged by the timed gate: instructions not measured/.test(w)));
  const syscallsWorse = compareRuns(base, cand, {}, { baseline: profile(I, S), candidate: profile(null, scaled(S, { get: 4.5 })) });
  assert.equal(syscallsWorse.outcome, 'regression');

  const noFile = judgeCosts({ baseline: profile(I, S), candidate: null, missing: { candidate: 'no costs.json in perf/candidate' } }, DEFAULT_COMPARE_OPTIONS);
  assert.deepEqual(noFile, { costs: null, gateKind: 'timed', timedFallback: 'no instruction counts on the candidate side (no costs.json in perf/candidate)' });
  assert.equal(judgeCosts({ baseline: profile(I, S), candidate: profile(I, S) }, { ...DEFAULT_COMPARE_OPTIONS, gateCosts: false }).timedFallback, 'the count gate is off (--no-gate_costs)');
  assert.deepEqual(judgeCosts(null, DEFAULT_COMPARE_OPTIONS), { costs: null, gateKind: 'timed', timedFallback: null });
});

test('without any costs.json compare is the timed comparison it always was: no gate label', () => {
  const run = makeRunResult({ ...plan, trials: 5, noise: 0.02 });
  const c = compareRuns(run, run);
  assert.equal(c.gateKind, 'timed');
  assert.equal(c.costs, null);
  assert.equal(gateText(c), '');
  assert.doesNotMatch(comparisonMarkdown(c), /TIMED|counted/);
});

// The CLI end to end: runs and costs.json in folders, as perf-gate lays them out.
const CLI = fileURLToPath(new URL('../bench/report/compare-cli.js', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'kvring-compare-costs-'));
after(() => rm(dir, { recursive: true, force: true }));

async function side(name: string, seed: number, costs: CostProfile | string | null): Promise<string> {
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'results.json'), JSON.stringify(makeRunResult({ ...plan, trials: 1, noise: 0.02, seed })));
  if (costs !== null) await writeFile(join(folder, 'costs.json'), typeof costs === 'string' ? costs : JSON.stringify(costs));
  return folder;
}

function compare(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--no-charts'], { cwd: dir, env: { ...process.env, GITHUB_STEP_SUMMARY: '' }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

test('compare CLI: costs.json beside the runs gates (one timed trial a side would be untested), --no-gate_costs restores the timed gate, a broken costs.json is exit 2', async () => {
  const base = await side('base', 1, profile(I, S));
  const same = await side('same', 2, profile(I, S));
  const worse = await side('worse', 3, profile(scaled(I, { get: 1.02 }), S));
  const none = await side('none', 4, null);
  const broken = await side('broken', 5, '{"format":"kvring-costs/1"}');

  const pass = await compare([base, same]);
  assert.equal(pass.code, 0, pass.stdout + pass.stderr);
  assert.match(pass.stdout, /Gate: instructions and system calls per request/);
  const fail = await compare([base, worse]);
  assert.equal(fail.code, 1, fail.stdout + fail.stderr);
  assert.match(fail.stdout, /GET\s+8,000 → 8,160 \(\+2\.0%\).*REGRESSION: instructions \+2\.0%/);
  assert.equal((await compare([base, worse, '--max_cost_regression', '2.5%'])).code, 0);
  const timed = await compare([base, worse, '--no-gate_costs']);
  assert.equal(timed.code, 3, 'one trial a side cannot be tested by the timed gate');
  assert.match(timed.stdout, /Gate: TIMED \(fallback\) — the count gate is off/);
  const missing = await compare([base, none]);
  assert.equal(missing.code, 3);
  assert.match(missing.stdout, /Gate: TIMED \(fallback\) — no instruction counts on the candidate side \(no costs\.json in .*none \(npm run costs -- --out .* makes one\)\)/);
  const bad = await compare([base, broken]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /KV_ERR_RESULTS_INPUT: .*broken\/costs\.json is not a kvring costs file: sequence is missing/);
});
