import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, costsArgs, parsePerfGateArgs, roundOrder, type GatePlan } from '../scripts/perf-gate.js';
import { toolProblem } from '../bench/costs/measure.js';
import { ReportUsageError } from '../bench/errors.js';

// scripts/perf-gate.ts, the CI gate perf.yml calls, end to end at a tiny size: baseline and
// candidate are both this checkout's dist/ (no build), two rounds of very short closed-loop runs.
// Runs from dist/: dist/test/tools-perf-gate.test.js → dist/scripts/perf-gate.js.

const SCRIPT = fileURLToPath(new URL('../scripts/perf-gate.js', import.meta.url));
const CHECKOUT = fileURLToPath(new URL('../..', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'kvring-perf-gate-'));
after(() => rm(dir, { recursive: true, force: true }));

function gate(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: dir, env: { ...process.env, GITHUB_STEP_SUMMARY: '', ...env }, timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

// Counts of system calls only, on a small sequence: strace is quick; instructions under valgrind
// are tested end to end in bench-costs-measure.test.ts. 1,600 extra requests, not 48: one stray
// call (a clock or signal call that follows time, not requests) is 2 % of 48 requests' calls and
// failed an A/A gate at 1 % on a busy CI runner; of 1,600 requests' it is 0.06 %.
const TINY_COSTS = '--costs_flags=--metrics syscalls --key_space 10 --short_requests 16 --long_requests 1616 --warmup_requests 4 --pipeline 4';
const TINY = ['--no-build', '--rounds', '2', '--bench_flags=--mode closed --workloads put --step_duration 0.1', TINY_COSTS];
const noStrace = await toolProblem('syscalls');

test('two rounds of the same build without instruction counts: the timed gate judges, labelled a fallback; runs alternate, summary.md and $GITHUB_STEP_SUMMARY say "untested", exit 3', { timeout: 120_000 }, async () => {
  const summary = join(dir, 'step-summary.md');
  await writeFile(summary, '# earlier step\n');
  const out = join(dir, 'perf');
  const r = await gate(['--base_dir', CHECKOUT, '--candidate_dir', CHECKOUT, ...TINY, '--out', 'perf'], { GITHUB_STEP_SUMMARY: summary });
  // Two rounds leave one trial a side after the warm-up: too few to test, which is not a pass.
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /RESULT: UNTESTED/);
  assert.match(r.stderr, /round 1\/2: baseline\n.*round 1\/2: candidate\n.*round 2\/2: candidate\n.*round 2\/2: baseline/);
  const runs = (names: string[]): string[] => names.filter((n) => !n.startsWith('latest') && n !== 'costs.json');
  assert.deepEqual(runs(await readdir(join(out, 'baseline'))).length, 2);
  assert.deepEqual(runs(await readdir(join(out, 'candidate'))).length, 2);
  const md = await readFile(join(out, 'summary.md'), 'utf8');
  assert.match(md, /^# kvring perf gate: candidate .* vs baseline /);
  assert.match(md, /2 alternating rounds of `bench --preset ci --trials 2 --mode closed --workloads put --step_duration 0\.1` per side/);
  assert.match(md, /⚠️ untested/);
  assert.match(md, /Gate: TIMED \(fallback\) — instructions not measured on either side: not asked for \(--metrics syscalls\)/);
  assert.match(md, /^Instructions and system calls per request of each build counted by `npm run costs --metrics syscalls /m);
  assert.match(md, /Exit 3: untested: too few trials to test — not a pass; raise --rounds\.\n$/);
  for (const side of ['baseline', 'candidate']) assert.equal(JSON.parse(await readFile(join(out, side, 'costs.json'), 'utf8')).format, 'kvring-costs/1');
  const appended = await readFile(summary, 'utf8');
  assert.ok(appended.startsWith('# earlier step\n'), 'appends, never overwrites');
  assert.equal(appended.split('# kvring perf gate').length, 2, 'the summary appears once (compare itself does not add a second)');
  // The last candidate run's report is one self-contained file for the artifact.
  const html = await readFile(join(out, 'candidate', 'latest-run', 'index.html'), 'utf8');
  assert.match(html, /<img src="data:image\/png;base64,/);
});

test('a baseline without a bench (not built, or from before the bench) is untested, exit 3, and says why', { timeout: 60_000 }, async () => {
  const empty = await mkdtemp(join(dir, 'empty-base-'));
  const r = await gate(['--base_dir', empty, '--candidate_dir', CHECKOUT, ...TINY, '--out', 'perf-empty']);
  assert.equal(r.code, 3, r.stderr);
  assert.match(await readFile(join(dir, 'perf-empty', 'summary.md'), 'utf8'), /the baseline has no dist\/bench\/run\/cli\.js \(not built; leave out --no-build\)/);
});

test('a failing bench run stops the gate with exit 2 and KV_ERR_PERF_GATE naming the run', { timeout: 60_000 }, async () => {
  const r = await gate(['--base_dir', CHECKOUT, '--candidate_dir', CHECKOUT, '--no-build', '--no-costs', '--rounds', '1', '--bench_flags=--workloads nonsense', '--out', 'perf-broken']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /KV_ERR_PERF_GATE: bench run of the baseline \(round 1\) failed \(exit 2\)/);
});

test('a candidate that writes each reply on its own fails the gate (exit 1) on its system calls per request, whatever time said', { skip: noStrace ?? false, timeout: 120_000 }, async () => {
  // A copy of this build whose server sends one write per reply instead of one per batch; made
  // here and removed with the temporary folder, never committed.
  const candidate = join(dir, 'one-write-per-reply');
  await cp(join(CHECKOUT, 'dist'), join(candidate, 'dist'), { recursive: true });
  await symlink(join(CHECKOUT, 'node_modules'), join(candidate, 'node_modules'));
  const connection = join(candidate, 'dist', 'server', 'connection.js');
  await writeFile(connection, (await readFile(connection, 'utf8')).replace('if (out.length > FLUSH_THRESHOLD_BYTES) {', 'if (out.length > 0) {'));
  const r = await gate(['--base_dir', CHECKOUT, '--candidate_dir', candidate, ...TINY, '--no-report', '--out', 'perf-syscalls']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const md = await readFile(join(dir, 'perf-syscalls', 'summary.md'), 'utf8');
  assert.match(md, /\| PUT \| — \| 0\.\d+ → 1\.\d+ \(\+\d+\.\d%\) \| ❌ REGRESSION: system calls \+\d+\.\d% \(per request: write 0\.250 → 1\.000/);
  assert.match(md, /Exit 1: a gated metric regressed\.\n$/);
});

test('flags: exactly one baseline, enough trials to skip the warm-up; rounds alternate who goes first', () => {
  const usage = (args: string[], pattern: RegExp): void => assert.throws(() => parsePerfGateArgs(args), (err: unknown) => err instanceof ReportUsageError && pattern.test(err.message));
  usage([], /exactly one baseline: --base <git ref> or --base_dir <checkout>/);
  usage(['--base', 'main', '--base_dir', '.'], /exactly one baseline/);
  usage(['--base', 'main', '--rounds', '0'], /--rounds must be an integer ≥ 1/);
  usage(['--base', 'main', '--trials', '1'], /--trials \(1\) must be an integer above --skip_trials \(1\)/);
  usage(['--base', 'main', '--max_regression', 'lots'], /--max_regression must be a percentage/);
  const plan = parsePerfGateArgs(['--base', 'main', '--out', 'x'], '/checkout') as GatePlan;
  assert.deepEqual(plan.base, { ref: 'main' });
  assert.equal(plan.outDir, '/checkout/x');
  assert.deepEqual([0, 1, 2, 3].map(roundOrder), [
    ['baseline', 'candidate'],
    ['candidate', 'baseline'],
    ['baseline', 'candidate'],
    ['candidate', 'baseline'],
  ]);
  assert.deepEqual(benchArgs(plan, 'candidate', 0), ['--preset', 'ci', '--trials', '2', '--no-charts', '--quiet', '--out', '/checkout/x/candidate', '--label', 'candidate-1']);
  assert.equal(plan.costs, true, 'the counts gate by default');
  assert.deepEqual(costsArgs({ ...plan, costsFlags: ['--pipeline', '16'] }, 'baseline', '/b/dist/server/main.js'), ['--server', '/b/dist/server/main.js', '--pipeline', '16', '--out', '/checkout/x/baseline/costs.json']);
  usage(['--base', 'main', '--max_cost_regression', 'lots'], /--max_cost_regression must be a percentage/);
});
