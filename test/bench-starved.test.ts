import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { hasCommand } from './helpers/system.js';
import { BENCH_CLI } from './helpers/bench-process.js';

// A starved generator looks idle to its own event loop: it is not running, so it is not busy.
// Here three worker threads and the server are kept on ONE CPU (taskset), so each thread spends
// most of the step waiting for it; the verdict must say so from the kernel's run-queue figures.

const canPin = process.platform === 'linux' && hasCommand('taskset');

test('worker threads kept off the CPU make the step client_bound, from their run-queue wait', { skip: canPin ? false : 'needs Linux and taskset (util-linux) to keep the threads on one CPU', timeout: 60_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'kvring-starved-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const r = await execa(
    'taskset',
    ['-c', '0', process.execPath, BENCH_CLI, '--num_servers', '1', '--workloads', 'put', '--mode', 'closed', '--num_threads', '3', '--worker_threads', '3', '--step_duration', '1', '--key_space', '1000', '--connections', '2', '--no-charts', '--quiet', '--out', out],
    { reject: false, timeout: 50_000 },
  );
  assert.equal(r.exitCode, 0, String(r.stderr));
  const result = JSON.parse(readFileSync(join(out, readlinkSync(join(out, 'latest-run')), 'results.json'), 'utf8')) as RunResult;
  assert.deepEqual(validateRunResult(result), []);
  const step = result.steps[0]!;
  const threads = step.client.threads ?? [];
  assert.equal(threads.length, 3, 'one entry per client');
  assert.ok((step.client.maxRunQueueWaitFraction ?? 0) > 0.25, `max run-queue wait ${step.client.maxRunQueueWaitFraction}`);
  assert.equal(step.client.clientBound, true);
  assert.ok(step.client.causes.some((c) => /waited for a CPU/.test(c)), step.client.causes.join('; '));
  assert.ok(step.client.maxEventLoopUtilization < 0.95, 'the event loops did not look saturated: only the run queue shows it');
  assert.equal(result.placement?.usableCores, 1, 'the run saw the one CPU it was given');
  assert.ok(result.placement!.warnings.some((w) => /share 1 core/.test(w)), result.placement!.warnings.join('; '));
});
