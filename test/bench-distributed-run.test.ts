import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnServer } from '../server/spawn.js';
import type { RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { requestsFor } from '../bench/worker/schedule.js';
import { runBenchCli } from './helpers/bench-process.js';

// A run split across two generator processes, end to end: the real plan, bench and merge
// commands as child processes against two real servers, the index taken from JOB_COMPLETION_INDEX
// as a Kubernetes Indexed Job sets it. Timing is not asserted (the machine is shared): only that
// every part says when it started, and that the figures add up.

const execFileP = promisify(execFile);
const PLAN_CLI = fileURLToPath(new URL('../bench/run/plan-cli.js', import.meta.url));
const MERGE_CLI = fileURLToPath(new URL('../bench/report/merge-cli.js', import.meta.url));

async function resultsIn(dir: string): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (const d of (await readdir(dir)).sort()) runs.push(JSON.parse(await readFile(join(dir, d, 'results.json'), 'utf8')) as RunResult);
  return runs;
}

test('two generators run one plan from a common start, each its half of every step, and merge adds them into one run', async () => {
  const servers = await Promise.all([0, 1].map(() => spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] })));
  after(() => Promise.all(servers.map((s) => s.stop())));
  const dir = await mkdtemp(join(tmpdir(), 'kvring-split-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const planPath = join(dir, 'plan.json');
  const rate = 400;
  const stepSec = 0.3;
  await execFileP(process.execPath, [
    PLAN_CLI,
    '--servers', servers.map((s) => s.address).join(','),
    '--server_counts', '2',
    '--generators', '2',
    '--num_threads', '1',
    '--connections', '2',
    '--rate', String(rate),
    '--load_levels', '100',
    '--workloads', 'put,get',
    '--key_space', '200',
    '--key_prefix', 'split:',
    '--step_duration', String(stepSec),
    '--step_gap_ms', '300',
    '--start_at', '+6s',
    '--write', planPath,
  ]);
  const plan = JSON.parse(await readFile(planPath, 'utf8')) as { planId: string; startAt: string };

  const parts = join(dir, 'parts');
  const exits = await Promise.all(
    [0, 1].map((i) => runBenchCli(['--plan', planPath, '--out', parts, '--no-charts', '--quiet'], { JOB_COMPLETION_INDEX: String(i) }, 60_000)),
  );
  exits.forEach((e, i) => assert.equal(e.code, 0, `generator ${i}: ${e.stderr}`));

  const runs = await resultsIn(parts);
  assert.deepEqual(
    runs.map((r) => [r.generator!.index, r.generator!.count, r.generator!.firstWorker, r.generator!.planId, r.generator!.startAt, r.label]).sort(),
    [
      [0, 2, 0, plan.planId, plan.startAt, 'external-g0'],
      [1, 2, 1, plan.planId, plan.startAt, 'external-g1'],
    ],
  );
  for (const r of runs) {
    assert.deepEqual(validateRunResult(r), []);
    // Each generator drove half of every step: its one worker, at rate / 2.
    for (const s of r.steps) {
      assert.equal(s.targetOpsPerSec, rate / 2);
      assert.equal(s.requests, requestsFor(rate / 2, stepSec));
      assert.ok(s.start !== undefined, 'every step says when it started');
      assert.equal(s.start.plannedAtMs >= Date.parse(plan.startAt) - 1000, true);
    }
    // The generators saw each other's clock key before the start.
    const other = String(1 - r.generator!.index);
    assert.ok(r.generator!.clock !== null && other in r.generator!.clock.aheadAtMostMs, JSON.stringify(r.generator!.clock));
  }

  const merged = join(dir, 'merged');
  const { stdout } = await execFileP(process.execPath, [MERGE_CLI, parts, '--out', merged, '--no-charts']);
  assert.match(stdout, /merged 2 runs/);
  const m = JSON.parse(await readFile(join(merged, 'results.json'), 'utf8')) as RunResult;
  assert.deepEqual(validateRunResult(m), []);
  assert.equal(m.generators!.count, 2);
  assert.equal(m.label, 'external-merged');
  m.steps.forEach((s, i) => {
    assert.equal(s.requests, runs[0]!.steps[i]!.requests + runs[1]!.steps[i]!.requests);
    assert.equal(s.targetOpsPerSec, rate);
    assert.equal(typeof s.start!.skewMs, 'number');
  });

  // One part alone is not a run: merge names the missing generator.
  const alone = await execFileP(process.execPath, [MERGE_CLI, join(parts, (await readdir(parts)).sort()[0]!), '--out', join(dir, 'm2'), '--no-charts']).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok(alone !== null);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /KV_ERR_MERGE_MISMATCH: the run had 2 generators but generator 1 is missing/);
});

test('a generator that arrives after its start says so, and its results record how late each step began', async () => {
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] });
  after(() => server.stop());
  const out = await mkdtemp(join(tmpdir(), 'kvring-late-'));
  after(() => rm(out, { recursive: true, force: true }));
  const startAt = new Date(Date.now() - 10_000).toISOString();
  const e = await runBenchCli(['--servers', server.address, '--start_at', startAt, '--rate', '200', '--load_levels', '100', '--workloads', 'put', '--step_duration', '0.2', '--num_threads', '1', '--connections', '1', '--out', out, '--no-charts']);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stderr, /is \d+\.\d s late for the common start at/);
  const [r] = await resultsIn(out);
  assert.ok(r!.steps[0]!.start!.lastThreadLateMs > 5000, JSON.stringify(r!.steps[0]!.start));
  assert.ok(
    r!.events.some((ev) => ev.kind === 'late-start' && /started \d+\.\d ms after its planned instant/.test(ev.detail)),
    JSON.stringify(r!.events),
  );
});
