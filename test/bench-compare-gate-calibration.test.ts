import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wilson } from '../scripts/gate-calibration.js';

// The CI gate's own evidence: scripts/gate-calibration.ts end to end at a tiny size — real bench
// runs, real compare processes — started from a folder other than the build's, with a relative
// --out, as a person runs it (the case that died with ENOENT before printing its summary).

const SCRIPT = fileURLToPath(new URL('../scripts/gate-calibration.js', import.meta.url));
const cwd = await mkdtemp(join(tmpdir(), 'kvring-gate-calibration-'));
after(() => rm(cwd, { recursive: true, force: true }));

test('any --comparisons ends with its summary table, the runs read back from a relative --out', { timeout: 120_000 }, async () => {
  const args = ['--comparisons', '2', '--runs_per_side', '1', '--trials_per_run', '2', '--skip_trials', '1', '--step_duration', '0.1', '--gates', 'throughput server_cpu', '--out', 'calibration'];
  const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd, timeout: 110_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^## CI gate calibration/m);
  // One row per gate; one run a side cannot be tested, so every comparison is untested (exit 3), none a detection.
  assert.match(r.stdout, /^\| `--gate throughput` \| 0 of 2: \*\*0\.0%\*\* .* \| 0 of 2: \*\*0\.0%\*\* .* \| 4 of 4 \|/m);
  assert.match(r.stdout, /^\| `--gate server_cpu` \|/m);
  assert.match(r.stdout, /Noise of single trials/);
  assert.deepEqual((await readdir(join(cwd, 'calibration'))).sort(), ['calibration.json', 'calibration.md', 'runs']);
  assert.deepEqual((await readdir(join(cwd, 'calibration', 'runs'))).sort(), ['A', 'A2', 'B']);
  const json = JSON.parse(await readFile(join(cwd, 'calibration', 'calibration.json'), 'utf8')) as { records: { exitCode: number }[] };
  assert.equal(json.records.length, 2 * 2 * 2, 'comparisons × (A/A, A/B) × gates');
  assert.ok(json.records.every((rec) => rec.exitCode === 3));
});

test('Wilson intervals: 20 detections in 20 support 84–100 %, 0 false alarms in 20 at most 16 %', () => {
  const [lo, hi] = wilson(20, 20);
  assert.equal(Math.round(lo * 100), 84);
  assert.equal(hi, 1);
  assert.equal(Math.round(wilson(0, 20)[1] * 100), 16);
  assert.deepEqual(wilson(0, 0), [0, 1]);
});
