// Coordinated omission: a server that stalls must show up in the corrected latency (from each
// request's intended send time), while service time (from the actual send) hides it — that is
// the difference between kvring's open loop and tools that time only what they managed to send.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../server/spawn.js';
import { sendCommand } from '../protocol/one-shot.js';
import type { RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { startBench } from './helpers/bench-process.js';

test('a 300 ms server stall shows in the corrected percentiles and not in service time', async () => {
  const out = mkdtempSync(join(tmpdir(), 'kvring-bench-co-'));
  after(() => rmSync(out, { recursive: true, force: true }));
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] });
  after(() => server.stop());
  // Two identical open-loop steps at 1000 ops/s on one connection; the stall lands in the second.
  const bench = startBench([
    '--servers', server.address, '--workloads', 'get', '--rate', '1000', '--load_levels', '100,100', '--step_duration', '2',
    '--num_threads', '1', '--connections', '1', '--key_space', '100', '--out', out, '--no-charts', '--timeout_ms', '5000',
  ]);
  after(() => bench.child.kill('SIGKILL'));
  await bench.waitForStderr(/^step 0:/);
  assert.equal(await sendCommand(server.address, ['DEBUG', 'SLEEP', '0.3'], 5000), 'OK');
  const exit = await bench.exited;
  assert.equal(exit.code, 0, exit.stderr);
  const result = JSON.parse(readFileSync(join(out, readlinkSync(join(out, 'latest-run')), 'results.json'), 'utf8')) as RunResult;
  assert.deepEqual(validateRunResult(result), []);
  const stalled = result.steps[1]!;
  // ~300 of ~2000 requests were due during the stall and waited for it: more than 1 % of them
  // waited over 200 ms counted from their slots.
  assert.ok(stalled.total.latency.p99Us >= 200_000, `corrected p99 ${stalled.total.latency.p99Us} µs shows the stall`);
  assert.ok(stalled.total.latency.maxUs >= 250_000, `corrected max ${stalled.total.latency.maxUs} µs`);
  // Only the one request in flight when the server stalled was sent before it: service time p99 stays low.
  assert.ok(stalled.total.serviceTime.p99Us < 100_000, `service-time p99 ${stalled.total.serviceTime.p99Us} µs hides it`);
  assert.ok(stalled.total.serviceTime.maxUs >= 200_000, 'the request in flight during the stall saw it');
  assert.equal(stalled.errors.timeout, 0);
  assert.equal(stalled.requests, 2000);
});
