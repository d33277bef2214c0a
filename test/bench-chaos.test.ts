// --chaos: the schedule parser and the outage figures (pure), the flag's refusals, and one short
// real run (the bench CLI as a child process starting 3 kvring servers) that kills one server and
// hangs another mid-step, restarts / continues them, and must finish with the events and figures
// in results.json and no server or temporary folder left behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChaos } from '../bench/run/chaos.js';
import { chaosOutages } from '../bench/analysis/chaos-outages.js';
import { parseBenchArgs } from '../bench/run/config.js';
import { BenchConfigError } from '../bench/errors.js';
import { totalErrors, type RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { portClosed, runBenchCli } from './helpers/bench-process.js';

test('parseChaos reads action:server@time in s or ms and sorts by time', () => {
  assert.deepEqual(parseChaos('restart:2@20s, kill:2@10s,stop:1@500ms,cont:1@1.5', 3), [
    { action: 'stop', server: 1, atSec: 0.5 },
    { action: 'cont', server: 1, atSec: 1.5 },
    { action: 'kill', server: 2, atSec: 10 },
    { action: 'restart', server: 2, atSec: 20 },
  ]);
});

test('parseChaos refuses what cannot happen, naming the entry', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['kill2@1s', /not action:server@time/],
    ['explode:1@1s', /unknown action "explode"/],
    ['kill:4@1s', /server 4 does not exist; servers are numbered 1 to 3/],
    ['kill:0@1s', /server 0 does not exist/],
    ['restart:1@1s', /restart needs an earlier kill of server 1/],
    ['kill:1@2s,restart:1@1s', /restart needs an earlier kill/],
    ['cont:2@1s', /cont needs an earlier stop/],
    ['kill:1@1s,kill:1@2s', /already killed/],
    ['stop:1@1s,stop:1@2s', /already stopped/],
    ['kill:1@1s,stop:1@2s', /already killed/],
    ['kill:1@1m', /not action:server@time/],
  ];
  for (const [text, message] of bad) assert.throws(() => parseChaos(text, 3), (e: unknown) => e instanceof BenchConfigError && message.test(e.message), text);
});

test('--chaos needs servers the run started and one server count', () => {
  const config = (args: string[]) => {
    const p = parseBenchArgs(args);
    assert.equal(p.kind, 'config');
    return p.kind === 'config' ? p.config : null;
  };
  const c = config(['--num_servers', '3', '--chaos', 'kill:2@1s']);
  assert.deepEqual(c?.serverCounts, [3]);
  assert.deepEqual(c?.chaos, [{ action: 'kill', server: 2, atSec: 1 }]);
  assert.equal(config([])?.chaos, null);
  assert.throws(() => parseBenchArgs(['--servers', '127.0.0.1:7001', '--chaos', 'kill:1@1s']), /--chaos kills and restarts servers the run started itself: use --target kvring instead of --servers/);
  assert.throws(() => parseBenchArgs(['--target', 'redis', '--chaos', 'kill:1@1s']), /use --target kvring/);
  assert.throws(() => parseBenchArgs(['--num_servers', '3', '--server_counts', '1,3', '--chaos', 'kill:1@1s']), /give one --server_counts value/);
  assert.throws(() => parseBenchArgs(['--num_servers', '3', '--server_counts', '2', '--chaos', 'kill:3@1s']), /server 3 does not exist/);
});

test('chaosOutages pairs each kill/stop with its failover and its recovery with the rejoin', () => {
  const A = '127.0.0.1:1';
  const B = '127.0.0.1:2';
  const outages = chaosOutages(
    [
      { tSec: 1, action: 'kill', server: 2, address: B },
      { tSec: 1.5, action: 'stop', server: 1, address: A },
      { tSec: 3, action: 'restart', server: 2, address: B },
      { tSec: 4, action: 'kill', server: 2, address: B },
    ],
    [
      { tSec: 0.5, address: B, state: 'down', errors: 99 }, // before the kill: not this outage's
      { tSec: 1.02, address: B, state: 'down', errors: 3 },
      { tSec: 2.0, address: A, state: 'down', errors: 7 },
      { tSec: 3.25, address: B, state: 'up', errors: 2 },
      { tSec: 4.01, address: B, state: 'down', errors: 1 },
    ],
  );
  assert.deepEqual(outages, [
    { action: 'kill', server: 2, address: B, atSec: 1, failoverMs: 20, errorsBeforeFailover: 3, errorsWhileDown: 2, recovery: 'restart', recoveryAtSec: 3, rejoinMs: 250 },
    { action: 'stop', server: 1, address: A, atSec: 1.5, failoverMs: 500, errorsBeforeFailover: 7, errorsWhileDown: 0, recovery: null, recoveryAtSec: null, rejoinMs: null },
    { action: 'kill', server: 2, address: B, atSec: 4, failoverMs: 10, errorsBeforeFailover: 1, errorsWhileDown: 0, recovery: null, recoveryAtSec: null, rejoinMs: null },
  ]);
});

test('a run with a kill -9 + restart and a SIGSTOP + SIGCONT completes: events, failover and rejoin figures, nothing left behind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kvring-bench-chaos-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const tmp = join(root, 'tmp');
  mkdirSync(tmp);
  const out = join(root, 'reports');
  const r = await runBenchCli(
    [
      '--num_servers', '3', '--workloads', 'put', '--rate', '2000', '--load_levels', '100', '--step_duration', '6',
      '--num_threads', '1', '--connections', '4', '--timeout_ms', '400', '--max_error_rate', '100', '--no-charts', '--out', out,
      '--chaos', 'kill:2@0.8s,stop:3@1.2s,restart:2@2s,cont:3@2.5s',
    ],
    { TMPDIR: tmp },
    40_000,
  );
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(readFileSync(join(out, readlinkSync(join(out, 'latest-run')), 'results.json'), 'utf8')) as RunResult;
  assert.deepEqual(validateRunResult(result), []);
  const kinds = result.events.map((e) => e.kind);
  for (const k of ['chaos-kill', 'chaos-stop', 'chaos-restart', 'chaos-cont', 'node-down', 'node-up']) assert.ok(kinds.includes(k), `event ${k} in ${kinds.join(',')}`);
  assert.equal(kinds.filter((k) => k === 'node-down').length, 2);
  assert.equal(kinds.filter((k) => k === 'node-up').length, 2);
  assert.ok(result.events.every((e, i) => i === 0 || result.events[i - 1]!.tSec <= e.tSec), 'events in time order');

  const chaos = result.chaos;
  assert.ok(chaos !== null && chaos !== undefined);
  assert.equal(chaos.schedule, 'kill:2@0.8s,stop:3@1.2s,restart:2@2s,cont:3@2.5s');
  const [kill, stop] = chaos.outages;
  assert.equal(kill?.action, 'kill');
  assert.equal(kill?.address, result.servers[1]);
  assert.equal(stop?.action, 'stop');
  assert.equal(stop?.address, result.servers[2]);
  for (const o of [kill!, stop!]) {
    assert.ok(o.failoverMs !== null && o.failoverMs >= 0 && o.failoverMs < 1500, `failover ${o.failoverMs} ms`);
    // The client's probe back-off (client/node-health.ts: 100–200 ms, then doubling, half random)
    // brings a server back at most ~1.7 s after it answers again in this schedule.
    assert.ok(o.rejoinMs !== null && o.rejoinMs >= 0 && o.rejoinMs < 2500, `rejoin ${o.rejoinMs} ms`);
  }
  // A hung server is only noticed by the request timeout (400 ms); its requests in flight time out.
  assert.ok(stop!.failoverMs! >= 300, `SIGSTOP failover ${stop!.failoverMs} ms waits for the timeout`);
  const step = result.steps[0]!;
  assert.ok(totalErrors(step.errors) > 0, 'errors were counted');
  assert.ok(step.errors.timeout > 0, 'the SIGSTOPped server\'s requests timed out');
  // Each outage's figures are exactly the errors of its server (the survivors may add their own
  // timeouts: they take the whole load for a while, on two shared cores).
  const errorsOf = (address: string): number => totalErrors(step.servers.find((v) => v.server === address)!.errors);
  assert.equal(errorsOf(kill!.address), kill!.errorsBeforeFailover + kill!.errorsWhileDown);
  assert.equal(errorsOf(stop!.address), stop!.errorsBeforeFailover + stop!.errorsWhileDown);
  // Failover, not failure: most requests succeeded although two of three servers were out for a while.
  assert.ok(step.errorRate < 0.1, `error rate ${step.errorRate}`);
  assert.match(r.stdout, /Chaos kill:2@0\.8s.*\n  kill server 2 .*failover \d+ ms.*rejoined after \d+ ms/);

  for (const address of result.servers) assert.ok(await portClosed(address), `${address} is stopped`);
  assert.deepEqual(readdirSync(tmp), [], 'no temporary folder left');
});
