import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeHistogram, mergeEncoded, summarize } from '../bench/histogram.js';
import { mergeRuns, mergeSummaries } from '../bench/analysis/merge-runs.js';
import { MergeMismatchError } from '../bench/errors.js';
import type { RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { makeRunResult } from './helpers/results-fixture.js';

const plan = { serverCounts: [1, 2], workloads: ['get', 'mix-get90-put10'], fractions: [0.5, 0.9], samplesPerStep: 150 };

function twoMachines(): [RunResult, RunResult] {
  const a = makeRunResult({ ...plan, seed: 1, label: 'lg' });
  const b = makeRunResult({ ...plan, seed: 2, label: 'lg', capacityPerServer: 30_000 });
  a.machine.hostname = 'load-a';
  b.machine.hostname = 'load-b';
  return [a, b];
}

test('merging two load machines adds counts and throughput, and step latencies come from the added histograms (exact)', () => {
  const [a, b] = twoMachines();
  const { result, warnings } = mergeRuns([a, b]);
  assert.deepEqual(warnings, []);
  assert.deepEqual(validateRunResult(JSON.parse(JSON.stringify(result))), [], 'the merged run is a valid, self-consistent results.json');
  assert.equal(result.steps.length, a.steps.length);
  result.steps.forEach((m, i) => {
    const sa = a.steps[i]!;
    const sb = b.steps[i]!;
    assert.equal(m.requests, sa.requests + sb.requests);
    assert.ok(Math.abs(m.achievedOpsPerSec - (sa.achievedOpsPerSec + sb.achievedOpsPerSec)) < 1e-6);
    const expected = summarize(mergeEncoded([sa.total.latencyHistogram, sb.total.latencyHistogram]));
    assert.deepEqual(m.total.latency, expected);
    assert.equal(decodeHistogram(m.total.latencyHistogram).totalCount, sa.total.latency.count + sb.total.latency.count);
    // The merged p99 lies between the machines' p99s (a percentile of a union always does).
    const lo = Math.min(sa.total.latency.p99Us, sb.total.latency.p99Us);
    const hi = Math.max(sa.total.latency.p99Us, sb.total.latency.p99Us);
    assert.ok(m.total.latency.p99Us >= lo && m.total.latency.p99Us <= hi);
    for (const op of Object.keys(sa.operations) as (keyof typeof sa.operations)[]) {
      assert.equal(m.operations[op]!.requests, sa.operations[op]!.requests + sb.operations[op]!.requests);
    }
  });
  assert.equal(result.machine.hostname, 'load-a + load-b');
  assert.equal(result.machine.cores, 4);
  assert.equal(result.label, 'lg-merged');
  const mergedFrom = result.config['mergedFrom'] as { machine: string }[];
  assert.deepEqual(
    mergedFrom.map((m) => m.machine),
    ['load-a', 'load-b'],
  );
  assert.equal(result.intervals.length, a.intervals.length);
  assert.equal(result.intervals[0]!.opsPerSec, a.intervals[0]!.opsPerSec + b.intervals[0]!.opsPerSec);
});

test('per-server summaries merge exactly where they can (count, mean, stdev, min, max) and as upper bounds for percentiles', () => {
  const s1 = { count: 100, minUs: 10, meanUs: 20, stdevUs: 5, maxUs: 50, p50Us: 19, p75Us: 23, p90Us: 27, p99Us: 40, p999Us: 49, p9999Us: 50 };
  const s2 = { count: 300, minUs: 5, meanUs: 40, stdevUs: 10, maxUs: 90, p50Us: 39, p75Us: 46, p90Us: 53, p99Us: 70, p999Us: 85, p9999Us: 90 };
  const m = mergeSummaries([s1, s2]);
  assert.equal(m.count, 400);
  assert.equal(m.meanUs, 35);
  assert.equal(m.minUs, 5);
  assert.equal(m.maxUs, 90);
  // Pooled: E[x²] = (100·(25+400) + 300·(100+1600)) / 400 = 1381.25; var = 1381.25 − 35² = 156.25.
  assert.equal(m.stdevUs, 12.5);
  assert.equal(m.p99Us, 70);
});

test('the SLO is recomputed from the merged steps', () => {
  const a = makeRunResult({ ...plan, seed: 1, sloBoundUs: 1500 });
  const b = makeRunResult({ ...plan, seed: 2, sloBoundUs: 1500 });
  const { result } = mergeRuns([a, b]);
  assert.ok(result.slo);
  assert.equal(result.slo.boundUs, 1500);
  for (const p of result.slo.points) if (p.latencyUs !== null) assert.ok(p.latencyUs <= 1500);
});

test('runs of different plans or servers, or a single run, are refused with KV_ERR_MERGE_MISMATCH', () => {
  const [a] = twoMachines();
  const other = makeRunResult({ ...plan, fractions: [0.5, 0.8] });
  assert.throws(() => mergeRuns([a, other]), (e: unknown) => e instanceof MergeMismatchError && /step 2 differs: .* merge runs of the same plan/.test(e.message));
  const shorter = makeRunResult({ ...plan, serverCounts: [1] });
  assert.throws(() => mergeRuns([a, shorter]), /has \d+ steps, .* has \d+ steps/);
  const elsewhere = structuredClone(a);
  elsewhere.steps[0]!.servers[0]!.server = '10.0.0.9:7000';
  assert.throws(() => mergeRuns([a, elsewhere]), /aimed at different servers.*same --servers/);
  assert.throws(() => mergeRuns([a]), /at least two/);
});

test('runs that did not overlap in time merge with a warning', () => {
  const [a, b] = twoMachines();
  b.startedAt = '2026-02-01T00:00:00.000Z';
  b.finishedAt = '2026-02-01T00:01:00.000Z';
  assert.match(mergeRuns([a, b]).warnings[0]!, /did not overlap in time/);
});

test('npm run merge writes one results folder with results.json, charts and index.html', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kvring-merge-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const [a, b] = twoMachines();
  await writeFile(join(dir, 'a.json'), JSON.stringify(a));
  await writeFile(join(dir, 'b.json'), JSON.stringify(b));
  const cli = fileURLToPath(new URL('../bench/report/merge-cli.js', import.meta.url));
  const out = join(dir, 'merged');
  const code = await new Promise<number>((resolve) => {
    execFile(process.execPath, [cli, join(dir, 'a.json'), join(dir, 'b.json'), '--out', out], { timeout: 60_000 }, (err) => resolve(err === null ? 0 : typeof err.code === 'number' ? err.code : -1));
  });
  assert.equal(code, 0);
  const files = (await readdir(out)).sort();
  assert.ok(files.includes('results.json') && files.includes('index.html') && files.includes('scaling.png') && files.includes('get-latency-vs-throughput.png'), files.join(', '));
  const merged = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as RunResult;
  assert.equal(merged.steps[0]!.requests, a.steps[0]!.requests + b.steps[0]!.requests);

  const bad = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [cli, join(dir, 'a.json')], { timeout: 30_000 }, (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr }));
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /KV_ERR_REPORT_USAGE: merge needs at least two results\.json files/);
});
