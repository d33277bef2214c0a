import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRunResult } from './helpers/results-fixture.js';

// `npm run report` re-renders a stored results.json without any server: a child process, real files.

const CLI = fileURLToPath(new URL('../bench/report/report-cli.js', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'kvring-report-cli-'));
after(() => rm(dir, { recursive: true, force: true }));

function report(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }));
  });
}

test('re-renders the charts and index.html beside a stored results.json', async () => {
  const run = join(dir, 'run-1');
  await mkdir(run);
  await writeFile(join(run, 'results.json'), JSON.stringify(makeRunResult({ serverCounts: [1, 2], workloads: ['put'], fractions: [0.3, 0.6, 0.9], samplesPerStep: 100 })));
  const r = await report([run]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote 5 files into .*run-1/);
  assert.deepEqual((await readdir(run)).sort(), ['index.html', 'put-latency-vs-throughput.png', 'put-percentiles.png', 'results.json', 'scaling.png', 'timeline.png']);
});

test('--out writes elsewhere; a folder of runs renders each; bad input exits 2', async () => {
  const out = join(dir, 'elsewhere');
  const r = await report([join(dir, 'run-1', 'results.json'), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await readdir(out)).includes('index.html'));

  const bad = await report([join(dir, 'missing')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^kvring report: KV_ERR_RESULTS_INPUT: cannot read .*missing/m);

  const size = await report([join(dir, 'run-1'), '--width', '10']);
  assert.equal(size.code, 2);
  assert.match(size.stderr, /KV_ERR_REPORT_USAGE: --width must be an integer from 200 to 8000/);
});
