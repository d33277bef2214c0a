import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCpuList, parseCpuList, planPlacement, usableCores, type PlacementRequest } from '../bench/run/placement.js';
import { parseCpuMax } from '../bench/run/cpu-budget.js';

// Where the run's processes go is a pure decision: the machine's CPU budget and the run's shape in,
// a plan and the warnings every report repeats out.

const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  budget: { cpus: [0, 1, 2, 3, 4, 5, 6, 7], quotaCores: null },
  maxServers: 3,
  serversStarted: true,
  generatorThreads: 2,
  mode: 'auto',
  canPin: true,
  ...over,
});

test('with a core for every server and generator thread, they are pinned to disjoint cores and nothing is said', () => {
  const p = planPlacement(request());
  assert.equal(p.pinned, true);
  assert.deepEqual(p.generatorCpus, [0, 1]);
  assert.deepEqual(p.serverCpus, [[2], [3], [4]]);
  assert.equal(p.ownCoresUpToServers, 3);
  assert.deepEqual(p.warnings, []);
});

test("the bench's other threads (main, V8's and libuv's helpers) go to every usable core but the generator's", () => {
  const p = planPlacement(request());
  assert.deepEqual(p.helperCpus, [2, 3, 4, 5, 6, 7]);
  const two = planPlacement(request({ budget: { cpus: [0, 1], quotaCores: null }, maxServers: 1, generatorThreads: 1 }));
  assert.deepEqual([two.generatorCpus, two.serverCpus, two.helperCpus], [[0], [[1]], [1]]);
  // A cgroup quota of 3 cores: only the first 3 CPUs of the mask are used at all.
  assert.deepEqual(planPlacement(request({ budget: { cpus: [0, 1, 2, 3, 4, 5, 6, 7], quotaCores: 3 }, maxServers: 1, generatorThreads: 2 })).helperCpus, [2]);
  assert.equal(planPlacement(request({ mode: 'off' })).helperCpus, null);
});

test('servers the bench did not start are not placed, but the generator threads still get cores apart from the rest of the bench', () => {
  const p = planPlacement(request({ budget: { cpus: [0, 1], quotaCores: null }, serversStarted: false, generatorThreads: 1 }));
  assert.deepEqual([p.pinned, p.generatorCpus, p.serverCpus, p.helperCpus], [true, [0], null, [1]]);
  assert.match(p.warnings.join('\n'), /servers not started by the bench/);
  // Nothing to keep apart on one core, or with a thread per core.
  assert.equal(planPlacement(request({ budget: { cpus: [0], quotaCores: null }, serversStarted: false, generatorThreads: 1 })).pinned, false);
  assert.equal(planPlacement(request({ budget: { cpus: [0, 1], quotaCores: null }, serversStarted: false, generatorThreads: 2 })).pinned, false);
});

test('3 servers and 1 generator thread on 2 cores: nothing pinned, and the run says scaling is not measured', () => {
  const p = planPlacement(request({ budget: { cpus: [0, 1], quotaCores: null }, generatorThreads: 1 }));
  assert.equal(p.pinned, false);
  assert.equal(p.ownCoresUpToServers, 1);
  assert.match(p.warnings.join('\n'), /3 servers \+ 1 generator thread share 2 cores: above 1 server, throughput across server counts measures this machine, not scaling/);
});

test('more generator threads than the generator may use is said, with the number to use instead', () => {
  const p = planPlacement(request({ budget: { cpus: [0, 1], quotaCores: null }, maxServers: 1, generatorThreads: 16 }));
  assert.equal(p.oversubscribedThreads, 15);
  assert.match(p.warnings[0]!, /16 generator threads but the generator may use 1 core \(2 cores, 1 server\): threads take turns on a core.*use --num_threads 1 or fewer/);
});

test('the cgroup quota caps the usable cores below the affinity mask', () => {
  assert.equal(usableCores({ cpus: [0, 1, 2, 3], quotaCores: 1.5 }), 1);
  assert.equal(usableCores({ cpus: [0, 1, 2, 3], quotaCores: null }), 4);
  const p = planPlacement(request({ budget: { cpus: [0, 1, 2, 3], quotaCores: 2 }, maxServers: 2, generatorThreads: 1 }));
  assert.equal(p.pinned, false);
  assert.match(p.warnings.join('\n'), /share 2 cores \(cgroup quota 2 of 4 CPUs\)/);
  assert.equal(parseCpuMax('max 100000'), null);
  assert.equal(parseCpuMax('150000 100000'), 1.5);
});

test('--placement off or no taskset: nothing is pinned, and why is said; servers the bench did not start are never placed', () => {
  assert.equal(planPlacement(request({ mode: 'off' })).pinned, false);
  const noTaskset = planPlacement(request({ canPin: false }));
  assert.equal(noTaskset.pinned, false);
  assert.match(noTaskset.warnings.join('\n'), /taskset \(util-linux\) is not installed/);
  const external = planPlacement(request({ serversStarted: false }));
  assert.equal(external.serverCpus, null);
  assert.equal(external.ownCoresUpToServers, 0);
  assert.match(external.warnings.join('\n'), /servers not started by the bench/);
});

test('CPU lists read and print the way taskset and /proc write them', () => {
  assert.deepEqual(parseCpuList('0-2,5'), [0, 1, 2, 5]);
  assert.deepEqual(parseCpuList('3'), [3]);
  assert.equal(parseCpuList('a-b'), null);
  assert.equal(formatCpuList([0, 1, 2, 5, 7, 8]), '0-2,5,7-8');
});
