// End to end: the bench CLI as a child process against real kvring servers (started by it through
// server/spawn.ts), redis-server (--target redis) and already-running servers (--servers).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../server/spawn.js';
import { sendCommand } from '../protocol/one-shot.js';
import type { RunResult, StepResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { hasCommand } from './helpers/system.js';
import { portClosed, runBenchCli } from './helpers/bench-process.js';

const hasRedis = hasCommand('redis-server');

function scratch(): { out: string; tmp: string } {
  const root = mkdtempSync(join(tmpdir(), 'kvring-bench-test-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const tmp = join(root, 'tmp');
  mkdirSync(tmp);
  return { out: join(root, 'reports'), tmp };
}

function readResults(out: string): { result: RunResult; dir: string } {
  const link = join(out, 'latest-run');
  const dir = join(out, readlinkSync(link));
  return { result: JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as RunResult, dir };
}

function assertStepConsistent(s: StepResult): void {
  const l = s.total.latency;
  assert.ok(l.minUs <= l.meanUs && l.meanUs <= l.maxUs, `step ${s.index}: mean within [min, max]`);
  if (s.targetOpsPerSec !== null) {
    // Achieved never exceeds offered (one period of slack: the last request's slot is inside the step).
    assert.ok(s.achievedOpsPerSec <= s.targetOpsPerSec * 1.05 + 20, `step ${s.index}: achieved ${s.achievedOpsPerSec} <= offered ${s.targetOpsPerSec}`);
  }
  assert.ok(s.total.serviceTime.p50Us <= s.total.latency.p99Us + 1, `step ${s.index}: service time is part of latency`);
}

test('a full sweep at tiny sizes writes results.json that validates, .hgrm files and the latest link; no server survives', async () => {
  const { out, tmp } = scratch();
  const r = await runBenchCli(
    ['--num_servers', '2', '--load_levels', '50,100', '--step_duration', '0.3', '--key_space', '300', '--num_threads', '2', '--connections', '2', '--out', out, '--no-charts', '--slo', 'p99<50ms', '--label', 'tiny'],
    { TMPDIR: tmp },
  );
  assert.equal(r.code, 0, r.stderr);
  const { result, dir } = readResults(out);
  assert.deepEqual(validateRunResult(result), []);
  assert.equal(result.target, 'kvring');
  assert.equal(result.label, 'tiny');
  assert.match(dir, /\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-tiny$/);
  // 2 server counts × put, get, delete × (max probe + 2 levels).
  assert.equal(result.steps.length, 18);
  assert.deepEqual([...new Set(result.steps.map((s) => s.serverCount))], [1, 2]);
  for (const s of result.steps) {
    assertStepConsistent(s);
    assert.ok(s.requests > 0, `step ${s.index} sent requests`);
    if (s.workload === 'get' || s.workload === 'delete') assert.equal(s.total.misses, 0, `step ${s.index}: every ${s.workload} found its key`);
    assert.ok(existsSync(join(dir, `step-${String(s.index).padStart(3, '0')}-${s.workload}.hgrm`)));
    assert.ok(existsSync(join(dir, `step-${String(s.index).padStart(3, '0')}-${s.workload}.service.hgrm`)));
  }
  assert.ok(result.intervals.length >= result.steps.length, 'every step has at least one interval point');
  // The warm-up ran once, before the first step, and left no step or interval point of its own.
  const warmUps = result.events.filter((e) => e.kind === 'warm-up');
  assert.equal(warmUps.length, 1, JSON.stringify(result.events));
  assert.match(warmUps[0]!.detail, /^2 s of unmeasured GETs \(closed loop\) over 1 server/);
  assert.ok(result.intervals.every((p) => p.stepIndex >= 0 && p.stepIndex < result.steps.length));
  assert.match(r.stderr, /warming up: 2 s of unmeasured GETs/);
  if (process.platform === 'linux') {
    // The servers' own CPU per request, read from /proc: what `compare --gate server_cpu` judges.
    for (const s of result.steps) assert.ok(typeof s.serverCpuUsPerRequest === 'number' && s.serverCpuUsPerRequest > 0, `step ${s.index}: server CPU ${s.serverCpuUsPerRequest}`);
  }
  assert.equal(result.slo?.points.length, 6);
  assert.equal((result.config as { numServers: number }).numServers, 2);
  assert.match(r.stdout, /srv\s+workload\s+step/);
  assert.match(r.stdout, /SLO p99<50ms/);
  for (const address of result.servers) assert.ok(await portClosed(address), `${address} was stopped`);
  assert.deepEqual(readdirSync(tmp), [], 'the servers\' temporary folders were removed');
});

test('above 80k requests/s per worker thread, on a core of its own, the generator spins and says so', async () => {
  const { out, tmp } = scratch();
  const r = await runBenchCli(
    ['--num_servers', '1', '--workloads', 'get', '--rate', '100000', '--load_levels', '100', '--step_duration', '1', '--key_space', '1000', '--num_threads', '1', '--warmup_seconds', '0', '--out', out, '--no-charts', '--quiet'],
    { TMPDIR: tmp },
  );
  assert.equal(r.code, 0, r.stderr);
  const { result } = readResults(out);
  assert.deepEqual(validateRunResult(result), []);
  const step = result.steps[result.steps.length - 1]!;
  // Pinned only where the machine has a core for the server and one for the generator (and taskset).
  assert.equal(step.client.pacing, result.placement?.pinned === true ? 'spin' : 'sleep');
  assert.ok(!step.client.causes.some((c) => /event loop/.test(c)) || step.client.pacing === 'sleep', 'a spinning loop is never blamed for being busy');
});

test('--servers measures servers that already run, and leaves them running', async () => {
  const { out } = scratch();
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] });
  after(() => server.stop());
  const r = await runBenchCli(['--servers', server.address, '--mix', 'ycsb-b', '--load_levels', '50', '--step_duration', '0.3', '--key_space', '200', '--connections', '2', '--out', out, '--no-charts', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const { result } = readResults(out);
  assert.deepEqual(validateRunResult(result), []);
  assert.equal(result.target, 'external');
  assert.deepEqual(result.steps.map((s) => s.workload), ['ycsb-b', 'ycsb-b']);
  assert.deepEqual(Object.keys(result.steps[0]!.operations).sort(), ['get', 'put']);
  for (const s of result.steps) assert.equal(s.serverCpuUsPerRequest, null, 'no process of its own to read: servers it did not start');
  assert.equal(await sendCommand(server.address, ['PING'], 2000), 'PONG');
});

test('against --servers the run says what it will write, keeps to --key_prefix, and --cleanup deletes it all', async () => {
  const { out } = scratch();
  const server = await spawnServer({ args: ['--snapshot-interval', '0', '--log-level', 'warn'] });
  after(() => server.stop());
  assert.equal(await sendCommand(server.address, ['SET', 'users:1', 'alice'], 2000), 'OK');
  const r = await runBenchCli([
    '--servers', server.address, '--workloads', 'put,get,delete', '--key_prefix', 'bench1:', '--cleanup', '--load_levels', '50',
    '--step_duration', '0.3', '--key_space', '300', '--connections', '2', '--out', out, '--no-charts', '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`note: this run writes into ${server.address.replace(/\./g, '\\.')}: up to 300 keys bench1:000 … bench1:299 and DELETE keys bench1:del:0:…; --cleanup deletes them at the end`));
  assert.match(r.stderr, /cleanup: deleted \d+ of the \d+ key names this run may have written/);
  assert.equal(await sendCommand(server.address, ['DBSIZE'], 2000), 1, 'only the key that was there before is left');
  assert.deepEqual(await sendCommand(server.address, ['GET', 'users:1'], 2000), Buffer.from('alice'));
});

test('--verify finds no violation against a correct server, and --json prints the result on stdout', async () => {
  const { out, tmp } = scratch();
  const r = await runBenchCli(
    ['--num_servers', '1', '--mix', 'get:60,put:30,delete:10', '--verify', '--mode', 'closed', '--step_duration', '0.4', '--key_space', '100', '--num_threads', '2', '--pipeline', '4', '--value_size', '20-40', '--out', out, '--no-charts', '--json', '--quiet'],
    { TMPDIR: tmp },
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  assert.deepEqual(validateRunResult(result), []);
  const step = result.steps[0]!;
  assert.equal(step.errors.wrongValue, 0);
  assert.ok(step.operations.get!.requests > 0 && step.operations.delete!.requests > 0);
  assert.ok(step.total.misses > 0, 'GETs after DELETEs miss, as verified');
});

test('--target redis measures redis-server with the same harness', { skip: hasRedis ? false : 'redis-server not installed' }, async () => {
  const { out, tmp } = scratch();
  const r = await runBenchCli(['--target', 'redis', '--num_servers', '2', '--server_counts', '2', '--workloads', 'put,get', '--load_levels', '50', '--step_duration', '0.3', '--key_space', '200', '--out', out, '--no-charts', '--quiet'], { TMPDIR: tmp });
  assert.equal(r.code, 0, r.stderr);
  const { result } = readResults(out);
  assert.deepEqual(validateRunResult(result), []);
  assert.equal(result.target, 'redis');
  assert.equal(result.servers.length, 2);
  for (const s of result.steps) assert.equal(s.servers.length, 2);
  for (const address of result.servers) assert.ok(await portClosed(address), `${address} was stopped`);
  assert.deepEqual(readdirSync(tmp), []);
});

test('--target redis without redis-server says how to install it', async () => {
  const r = await runBenchCli(['--target', 'redis', '--redis_server', '/nonexistent/redis-server', '--quiet']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /KV_ERR_BENCH_REDIS_MISSING: .*install with: apt-get install redis-server/);
});

test('bad flags exit 2 naming the flag; --help exits 0 listing every flag', async () => {
  const bad = await runBenchCli(['--num_servers', 'x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /KV_ERR_BENCH_CONFIG: .*--num_servers/);
  const help = await runBenchCli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--num_servers/);
  assert.match(help.stdout, /--slo/);
});
