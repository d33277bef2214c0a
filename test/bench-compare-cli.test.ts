import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../bench/results.js';
import { COMPARE_OPTIONS, compareFlagTable, parseCompareArgs } from '../bench/report/compare-cli.js';
import { MERGE_OPTIONS, mergeFlagTable } from '../bench/report/merge-cli.js';
import { REPORT_OPTIONS, reportFlagTable } from '../bench/report/report-cli.js';
import { REPORT_ERROR_CODES } from '../bench/errors.js';
import { makeRunResult } from './helpers/results-fixture.js';

// The compare command end to end, as CI runs it: a real child process, real files, exit codes.
// Runs from dist/ (npm test builds first): dist/test/compare-cli.test.js → dist/bench/report/compare-cli.js.

const CLI = fileURLToPath(new URL('../bench/report/compare-cli.js', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'kvring-compare-'));
after(() => rm(dir, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function compare(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, GITHUB_STEP_SUMMARY: '', ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

async function save(name: string, run: RunResult | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof run === 'string' ? run : JSON.stringify(run));
  return path;
}

const plan = { serverCounts: [1], workloads: ['get'], fractions: [0.5, 0.9], trials: 5, samplesPerStep: 100 };
const base = await save('base.json', makeRunResult({ ...plan, noise: 0.02, seed: 1, label: 'base' }));
const noisy = await save('noisy.json', makeRunResult({ ...plan, noise: 0.02, seed: 2, label: 'noisy' }));
const slow = await save('slow.json', makeRunResult({ ...plan, noise: 0.02, seed: 3, slowdown: 0.15, label: 'slow' }));

test('identical inputs → exit 0, "no regression"', async () => {
  const r = await compare([base, base, '--no-charts']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /RESULT: no regression \(exit 0\)/);
});

test('small noise only → exit 0', async () => {
  const r = await compare([base, noisy, '--no-charts']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('a clear slowdown → exit 1, markdown file, $GITHUB_STEP_SUMMARY appended, overlay chart drawn', async () => {
  const summary = join(dir, 'step-summary.md');
  await writeFile(summary, '# earlier step\n');
  const md = join(dir, 'out', 'compare.md');
  const charts = join(dir, 'charts');
  const r = await compare([base, slow, '--markdown', md, '--chart_dir', charts], { GITHUB_STEP_SUMMARY: summary });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /REGRESSION: throughput −1\d\.\d% p=0\.004/);
  const text = await readFile(md, 'utf8');
  assert.match(text, /## kvring perf: `slow` vs baseline `base` — ❌ 1 regression/);
  assert.match(text, /\| get · 1 server · max \(closed loop\) \| 5\/5 \|/);
  const appended = await readFile(summary, 'utf8');
  assert.ok(appended.startsWith('# earlier step\n'), 'appends, never overwrites');
  assert.ok(appended.includes('❌ 1 regression'));
  assert.ok((await stat(join(charts, 'get-overlay.png'))).size > 10_000);
});

test('two single-trial runs 68% apart → exit 3 "UNTESTED", never "no regression"; --fail_untested → exit 1', async () => {
  const one = await save('one.json', makeRunResult({ ...plan, trials: 1, label: 'one' }));
  const far = await save('far.json', makeRunResult({ ...plan, trials: 1, slowdown: 0.68 / 0.32, label: 'far' }));
  const md = join(dir, 'untested.md');
  const r = await compare([one, far, '--markdown', md, '--chart_dir', join(dir, 'untested-charts')]);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /RESULT: UNTESTED — 1 step could not be tested \(too few trials\); this is not a pass \(exit 3\)/);
  assert.match(r.stdout, /Trials needed: ≥ 3 a side to test at all/);
  assert.doesNotMatch(r.stdout, /no regression/);
  assert.match(await readFile(md, 'utf8'), /⚠️ untested/);
  const strict = await compare([one, far, '--no-charts', '--fail_untested']);
  assert.equal(strict.code, 1, strict.stdout);
  assert.match(strict.stdout, /RESULT: 1 regression \(exit 1\)/);
});

test('--json prints the comparison as data', async () => {
  const r = await compare([base, slow, '--json', '--no-charts']);
  assert.equal(r.code, 1);
  const parsed = JSON.parse(r.stdout) as { failed: boolean; steps: { verdict: string }[] };
  assert.equal(parsed.failed, true);
  assert.equal(parsed.steps[0]!.verdict, 'regression');
});

test('a run folder and a folder of runs are accepted; their trials are combined', async () => {
  const runs = join(dir, 'runs');
  for (const [i, seed] of [7, 8].entries()) {
    await mkdir(join(runs, `run-${i}`), { recursive: true });
    await writeFile(join(runs, `run-${i}`, 'results.json'), JSON.stringify(makeRunResult({ ...plan, trials: 2, noise: 0.02, seed })));
  }
  const r = await compare([join(runs, 'run-0'), runs, '--no-charts']);
  assert.equal(r.code, 3, 'two trials against four cannot reach p ≤ 0.05: untested' + r.stderr);
  assert.match(r.stdout, /get · 1 server · max \(closed loop\)\s+2\/4/);
});

test('--skip_trials drops each run\'s warm-up trials before comparing', async () => {
  const r = await compare([base, slow, '--no-charts', '--skip_trials', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /get · 1 server · max \(closed loop\)\s+3\/3/);
  assert.match(r.stdout, /first 2 trial\(s\) of every run were skipped as warm-up/);
  const all = await compare([base, slow, '--no-charts', '--skip_trials', '5']);
  assert.equal(all.code, 2);
  assert.match(all.stderr, /KV_ERR_RESULTS_INPUT: --skip_trials 5 leaves no trial of .*base\.json; run the bench with --trials 6 or more/);
});

test('--noise with two A/A runs states the floor and uses it as the threshold', async () => {
  const r = await compare([base, noisy, '--no-charts', '--noise', base, noisy]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Noise floor of this machine \(A\/A: .*base\.json vs .*noisy\.json\): throughput \d+\.\d%/);
});

test('malformed input → exit 2 naming the file and what to do', async () => {
  const broken = await save('broken.json', '{"schemaVersion": 1, "steps": [');
  const r = await compare([base, broken, '--no-charts']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^kvring compare: KV_ERR_RESULTS_INPUT: .*broken\.json is not valid JSON/m);

  const wrong = await save('wrong.json', JSON.stringify({ schemaVersion: 1, hello: 'world' }));
  const r2 = await compare([wrong, base, '--no-charts']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /KV_ERR_RESULTS_INPUT: .*wrong\.json is not a valid kvring results\.json: kvringVersion: expected a string.*\(and \d+ more\); rerun the bench or fix the file/);

  const missing = await compare([join(dir, 'nope.json'), base]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /KV_ERR_RESULTS_INPUT: cannot read .*nope\.json/);
});

test('mismatched runs → exit 2 with KV_ERR_COMPARE_MISMATCH', async () => {
  const put = await save('put.json', makeRunResult({ ...plan, workloads: ['put'] }));
  const r = await compare([base, put, '--no-charts']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /KV_ERR_COMPARE_MISMATCH: the runs have no step in common .* run both with the same --workloads/);
});

test('bad flags → exit 2 with KV_ERR_REPORT_USAGE naming the flag', async () => {
  for (const [args, pattern] of [
    [[base], /exactly two inputs/],
    [[base, base, '--max_regression', 'lots'], /--max_regression must be a percentage/],
    [[base, base, '--gate', 'p42'], /--gate: unknown metric\(s\) p42/],
    [[base, base, '--alpha', '2'], /--alpha must be between 0 and 1/],
    [[base, base, '--bogus'], /Unknown argument/],
  ] as const) {
    const r = await compare([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^kvring compare: KV_ERR_REPORT_USAGE: /m);
    assert.match(r.stderr, pattern);
  }
});

test('--help and the README flag tables come from the same declarations', () => {
  const help = parseCompareArgs(['--help']);
  assert.ok('help' in help);
  for (const name of Object.keys(COMPARE_OPTIONS)) {
    assert.ok(help.help.includes(`--${name}`), `--help mentions --${name}`);
    assert.ok(compareFlagTable().includes(`\`--${name}\``));
  }
  for (const name of Object.keys(MERGE_OPTIONS)) assert.ok(mergeFlagTable().includes(`\`--${name}\``));
  for (const name of Object.keys(REPORT_OPTIONS)) assert.ok(reportFlagTable().includes(`\`--${name}\``));
  assert.deepEqual([...REPORT_ERROR_CODES].sort(), ['KV_ERR_COMPARE_MISMATCH', 'KV_ERR_MERGE_MISMATCH', 'KV_ERR_REPORT_USAGE', 'KV_ERR_RESULTS_INPUT']);
});
