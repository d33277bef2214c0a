import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { flagTableMarkdown, OPTION_SPECS, parseBenchArgs, resolveWorkerThreads, type BenchConfig } from '../bench/run/config.js';
import { BenchConfigError } from '../bench/errors.js';

function config(args: string[]): BenchConfig {
  const outcome = parseBenchArgs(args);
  assert.equal(outcome.kind, 'config');
  if (outcome.kind !== 'config') throw new Error('unreachable');
  return outcome.config;
}

function refused(args: string[], pattern: RegExp): void {
  assert.throws(() => parseBenchArgs(args), (e: unknown) => e instanceof BenchConfigError && pattern.test(e.message), args.join(' '));
}

test('no flags: 1..N kvring servers (N = the cores beside the generator threads, 1 to 3) × put, get, delete, open-loop levels after a probe', () => {
  const c = config([]);
  assert.equal(c.target, 'kvring');
  const cores = availableParallelism();
  const servers = Math.max(1, Math.min(3, cores - c.numThreads));
  assert.equal(c.numThreads, Math.max(1, Math.floor(cores / 2)));
  assert.deepEqual(c.serverCounts, Array.from({ length: servers }, (_, i) => i + 1));
  assert.deepEqual(c.workloads.map((w) => w.name), ['put', 'get', 'delete']);
  assert.equal(c.mode, 'open');
  assert.deepEqual(c.loadLevels, [0.1, 0.25, 0.5, 0.75, 0.9, 1, 1.1]);
  assert.equal(c.maxErrorRate, 0.01);
  assert.equal(c.label, 'kvring');
  assert.equal(c.slo, null);
  // Unmeasured load before the first step, so a fresh process's slow first seconds are not measured.
  assert.equal(c.warmupSec, 2);
  // Long enough that a server's occasional pause lands in every step's p99 alike.
  assert.equal(c.stepDurationSec, 3);
  assert.equal(config(['--warmup_seconds', '0']).warmupSec, 0);
});

test('snake_case flags have kebab-case aliases', () => {
  const a = config(['--num_servers', '4', '--num_threads', '3', '--load_levels', '50,100']);
  const b = config(['--num-servers', '4', '--num-threads', '3', '--load-levels', '50,100']);
  assert.deepEqual(a, b);
  assert.deepEqual(a.serverCounts, [1, 2, 3, 4]);
  assert.equal(a.numThreads, 3);
});

test('--servers measures running servers and sets the sweep from their count', () => {
  const c = config(['--servers', '127.0.0.1:7001, localhost:7002']);
  assert.equal(c.target, 'external');
  assert.deepEqual(c.servers, ['127.0.0.1:7001', 'localhost:7002']);
  assert.deepEqual(c.serverCounts, [1, 2]);
  assert.equal(c.label, 'external');
});

test('--mix replaces the workloads; --value_size takes a range; --verify uses one connection', () => {
  const c = config(['--mix', 'get:90,put:10', '--value_size', '16-1024', '--verify', '--connections', '8']);
  assert.deepEqual(c.workloads.map((w) => w.name), ['mix-put10-get90']);
  assert.equal(c.valueSizeMin, 16);
  assert.equal(c.valueSizeMax, 1024);
  assert.equal(c.connections, 1);
  assert.equal(c.verify, true);
});

test('--slo and --preset ci are parsed; explicit flags win over the preset', () => {
  const ci = config(['--preset', 'ci']);
  assert.deepEqual(ci.serverCounts, [1]);
  assert.equal(ci.trials, 3);
  assert.equal(ci.label, 'ci');
  assert.deepEqual(ci.workloads.map((w) => w.name), ['put', 'get']);
  const mine = config(['--preset=ci', '--trials', '2', '--slo', 'p99<2ms']);
  assert.equal(mine.trials, 2);
  assert.equal(mine.slo?.boundUs, 2000);
});

test('invalid settings are refused naming the flag', () => {
  refused(['--num_servers', '0'], /--num_servers/);
  refused(['--server_counts', '1,5'], /--server_counts/);
  refused(['--load_levels', '10,abc'], /--load_levels/);
  refused(['--value_size', '100-10'], /--value_size/);
  refused(['--pipeline', '1.5'], /--pipeline/);
  refused(['--servers', 'nohost'], /host:port/);
  refused(['--max_error_rate', '150'], /--max_error_rate/);
  refused(['--label', 'a/b'], /--label/);
  refused(['--slo', 'fast'], /--slo/);
  refused(['--preset', 'nope'], /--preset/);
  refused(['--verify', '--key_space', '2', '--num_threads', '4'], /--key_space/);
  refused(['--no_such_flag'], /no_such_flag/);
  refused(['--mode', 'sideways'], /mode/);
  refused(['--warmup_seconds', '-1'], /--warmup_seconds must be a number from 0 to 600/);
});

test('--help lists every flag, and the README table is generated from the same declarations', () => {
  const help = parseBenchArgs(['--help']);
  assert.equal(help.kind, 'help');
  const table = flagTableMarkdown();
  for (const name of Object.keys(OPTION_SPECS)) {
    if (help.kind === 'help') assert.ok(help.text.includes(`--${name}`), `--help mentions --${name}`);
    assert.ok(table.includes(`\`--${name}\``), `table mentions --${name}`);
  }
});

test('the final settings are plain data that round-trip through JSON', () => {
  const c = config(['--slo', 'p99.9<500us', '--mix', 'a']);
  assert.deepEqual(JSON.parse(JSON.stringify(c)), c);
});

test('clients beyond the cores the generator may use share worker threads instead of each taking an OS thread', () => {
  assert.equal(resolveWorkerThreads(0, 16, 1, 2), 1, '16 clients, 2 cores, 1 started server: one thread');
  assert.equal(resolveWorkerThreads(0, 16, 0, 2), 2, 'servers elsewhere: one thread per core');
  assert.equal(resolveWorkerThreads(0, 3, 2, 8), 3, 'never more threads than clients');
  assert.equal(resolveWorkerThreads(0, 4, 8, 8), 1, 'at least one thread');
  assert.equal(resolveWorkerThreads(16, 16, 1, 2), 16, 'asked for: one OS thread per client');
  assert.equal(resolveWorkerThreads(32, 16, 1, 2), 16, 'capped at the clients');
  const c = config(['--num_threads', '6', '--worker_threads', '2']);
  assert.equal(c.numThreads, 6);
  assert.equal(c.workerThreads, 2);
});
