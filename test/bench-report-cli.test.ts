import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
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

test('--self_contained embeds every chart in index.html, so the one file is the whole report', async () => {
  const out = join(dir, 'one-file');
  const r = await report([join(dir, 'run-1'), '--out', out, '--self_contained']);
  assert.equal(r.code, 0, r.stderr);
  const html = await readFile(join(out, 'index.html'), 'utf8');
  const pngs = (await readdir(out)).filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, 4, 'the PNGs are still written beside it');
  const embedded = [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
  assert.equal(embedded.length, pngs.length, 'every chart is embedded');
  for (const m of embedded) assert.deepEqual([...Buffer.from(m[1]!, 'base64').subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
  assert.doesNotMatch(html, /(src|href)="[^"d][^"]*\.png"/, 'no reference to a file beside it');
  assert.match(html, /charts embedded: this file is the whole report/);
});
