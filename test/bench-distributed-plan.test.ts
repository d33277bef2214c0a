import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchArgs, type BenchConfig } from '../bench/run/config.js';
import { BenchConfigError } from '../bench/errors.js';
import { planSteps, PRELOAD_KEYS_PER_SEC_PER_CLIENT, stepTimeline } from '../bench/run/plan.js';
import { argsWithPlan, checkPlanId, parsePlanFile, planIdOf, PlanFileError } from '../bench/run/plan-file.js';
import { planFromArgs } from '../bench/run/plan-cli.js';
import { keysOfPart, releaseOffsetMs, totalWorkers, type GeneratorPart } from '../bench/run/generator-part.js';
import { parseStartAt } from '../bench/run/start-clock.js';
import { sharedKeyName } from '../bench/key-names.js';

// The split of one run across generators, as data: flags → settings, the common timeline, the
// plan file and its id, and what each generator owns. No process, no clock.

const START = '2026-05-01T12:00:00.000Z';
const SPLIT = ['--servers', 'kv-0.kv:7001,kv-1.kv:7001', '--generators', '4', '--num_threads', '2', '--rate', '40000', '--workloads', 'put,get', '--load_levels', '50,100', '--start_at', START];

function config(args: string[], env: Record<string, string> = { JOB_COMPLETION_INDEX: '0' }): BenchConfig {
  const outcome = parseBenchArgs(args, { env });
  assert.equal(outcome.kind, 'config');
  return (outcome as { config: BenchConfig }).config;
}

function refused(args: string[], pattern: RegExp, env: Record<string, string> = { JOB_COMPLETION_INDEX: '0' }): void {
  assert.throws(() => parseBenchArgs(args, { env }), (e: unknown) => e instanceof BenchConfigError && pattern.test(e.message), args.join(' '));
}

test('a generator takes its index from --generator_index, else from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); a split run must have one', () => {
  assert.equal(config([...SPLIT, '--generator_index', '2']).generatorIndex, 2);
  assert.equal(config(SPLIT, { JOB_COMPLETION_INDEX: '3' }).generatorIndex, 3);
  assert.equal(config([...SPLIT, '--generator_index', '1'], { JOB_COMPLETION_INDEX: '3' }).generatorIndex, 1, 'the flag wins');
  refused(SPLIT, /give this generator its --generator_index \(0 … 3\), or run it in a Kubernetes Indexed Job/, {});
  assert.equal(config(['--servers', '127.0.0.1:7001'], {}).generatorIndex, 0, 'a whole run is generator 0 of 1');
  refused(SPLIT, /JOB_COMPLETION_INDEX \(4\) must be an integer from 0 to --generators − 1 \(3\)/, { JOB_COMPLETION_INDEX: '4' });
  refused([...SPLIT, '--generator_index', '-1'], /--generator_index must be an integer from 0/);
});

test("each part gets its own label (parts may write into one folder), and single-machine runs keep theirs", () => {
  assert.equal(config(SPLIT, { JOB_COMPLETION_INDEX: '3' }).label, 'external-g3');
  assert.equal(config([...SPLIT, '--label', 'k8s']).label, 'k8s-g0');
  const whole = config(['--servers', '127.0.0.1:7001'], {});
  assert.equal(whole.label, 'external');
  assert.equal(whole.generators, 1);
  assert.equal(whole.startAt, null);
});

test('a split run refuses what would make its generators measure different things, naming the flag', () => {
  refused(['--generators', '2', '--rate', '100', '--start_at', START], /give them with --servers/);
  refused(['--servers', '127.0.0.1:7001', '--generators', '2', '--rate', '100'], /give --start_at/);
  refused(['--servers', '127.0.0.1:7001', '--generators', '2', '--start_at', START], /no generator may probe a maximum of its own: give --rate/);
  refused([...SPLIT, '--num_requests', '100'], /use --step_duration, not --num_requests/);
  refused([...SPLIT, '--steal_retries', '2'], /set --steal_retries 0/);
  refused([...SPLIT, '--verify', '--key_space', '7'], /--key_space \(7\) must be >= --generators × --num_threads \(8\)/);
  // A closed-loop split run needs no rate: its steps are fixed-length.
  assert.equal(config(['--servers', '127.0.0.1:7001', '--generators', '2', '--mode', 'closed', '--start_at', START]).mode, 'closed');
});

test('--start_at is an instant with its zone or ms since the epoch; a time from now only where npm run plan fixes it', () => {
  assert.equal(parseStartAt('2026-05-01T12:00:00Z', null), Date.parse(START));
  assert.equal(parseStartAt('2026-05-01T14:00:00+02:00', null), Date.parse(START));
  assert.equal(parseStartAt('1777636800000', null), 1777636800000);
  assert.equal(parseStartAt('2026-05-01T12:00:00', null), null, 'a local time means a different instant on each machine');
  assert.equal(parseStartAt('+90s', null), null);
  assert.equal(parseStartAt('+90s', 1000), 91_000);
  assert.equal(parseStartAt('+2m', 0.4), 120_001);
  refused(['--start_at', '+90s'], /a time from now \("\+90s"\) is for npm run plan/);
});

test('the timeline: every step at a fixed offset, a preload slot before the first step on a new set of servers', () => {
  const c = config([...SPLIT, '--server_counts', '1,2', '--key_space', '80000', '--step_duration', '2', '--step_gap_ms', '500']);
  const steps = planSteps(c);
  const { times, endMs } = stepTimeline(steps, c);
  const preloadMs = Math.ceil((80000 / 8 / PRELOAD_KEYS_PER_SEC_PER_CLIENT) * 1000) + 500;
  // put 50, put 100, get 50, get 100 per server count.
  assert.deepEqual(
    times.map((t) => [t.preloadAtMs, t.startAtMs]),
    [
      [null, 0],
      [null, 2500],
      [5000, 5000 + preloadMs],
      [null, 7500 + preloadMs],
      [null, 10000 + preloadMs],
      [null, 12500 + preloadMs],
      [15000 + preloadMs, 15000 + 2 * preloadMs],
      [null, 17500 + 2 * preloadMs],
    ],
  );
  assert.equal(endMs, 20000 + 2 * preloadMs);
});

test('the plan id covers what shapes the load, not who a generator is or where it writes', () => {
  const base = planIdOf(config(SPLIT));
  assert.match(base, /^[0-9a-f]{16}$/);
  assert.equal(planIdOf(config([...SPLIT, '--generator_index', '3', '--label', 'x', '--out', '/tmp/x', '--no-charts', '--quiet', '--worker_threads', '1'])), base);
  for (const [flag, value] of [['--rate', '40001'], ['--seed', '2'], ['--key_prefix', 'other:'], ['--num_threads', '3'], ['--start_at', '2026-05-01T12:00:01Z'], ['--generators', '5']] as const) {
    const i = SPLIT.indexOf(flag);
    const changed = i < 0 ? [...SPLIT, flag, value] : SPLIT.map((a, j) => (j === i + 1 ? value : a));
    assert.notEqual(planIdOf(config(changed)), base, `${flag} ${value}`);
  }
});

test('npm run plan fixes the start instant and the thread count once, and a generator gets the same plan back from the file', () => {
  const now = Date.parse(START);
  const out = planFromArgs(['--servers', 'kv-0.kv:7001', '--generators', '3', '--rate', '3000', '--workloads', 'put', '--load_levels', '50,100', '--start_at', '+2m', '--write', '/tmp/p.json'], now);
  assert.equal(out.kind, 'plan');
  if (out.kind !== 'plan') return;
  const { plan, write } = out;
  assert.equal(write, '/tmp/p.json');
  assert.equal(plan.startAt, '2026-05-01T12:02:00.000Z');
  assert.equal(plan.generators, 3);
  assert.ok(plan.args.includes('--start_at=2026-05-01T12:02:00.000Z'));
  assert.ok(plan.args.some((a) => /^--num_threads=\d+$/.test(a)), 'the machine-dependent default is written down');
  assert.ok(!plan.args.some((a) => a.startsWith('--write')));
  assert.deepEqual(
    plan.steps.map((s) => [s.targetOpsPerSec, s.perGeneratorOpsPerSec]),
    [
      [1500, 500],
      [3000, 1000],
    ],
  );
  // The default 3 s step, then the default 1 s gap.
  assert.equal(plan.steps[1]!.startsAt, '2026-05-01T12:02:04.000Z');
  // What a generator does with the file: the plan's flags, then its own.
  const reread = parsePlanFile(JSON.stringify(plan), 'p.json');
  const args = argsWithPlan(reread, ['--plan', 'p.json', '--generator_index', '2', '--out', '/results/parts', '--no-charts'], 'p.json');
  const c = config(args);
  assert.equal(c.generatorIndex, 2);
  assert.equal(c.outDir, '/results/parts');
  assert.doesNotThrow(() => checkPlanId(plan, c, 'p.json'));
});

test('beside --plan a generator may only say who it is and where results go; an edited plan is refused', () => {
  const out = planFromArgs(['--servers', 'kv-0.kv:7001', '--generators', '2', '--rate', '100', '--start_at', START], 0);
  if (out.kind !== 'plan') throw new Error('expected a plan');
  assert.throws(() => argsWithPlan(out.plan, ['--plan', 'p.json', '--rate', '200'], 'p.json'), (e: unknown) => e instanceof PlanFileError && /leave out --rate/.test(e.message));
  const edited = { ...out.plan, args: out.plan.args.map((a) => (a === '100' ? '200' : a)) };
  assert.throws(() => checkPlanId(edited, config([...edited.args, '--generator_index', '1']), 'p.json'), (e: unknown) => e instanceof PlanFileError && e.code === 'KV_ERR_BENCH_PLAN_FILE' && /was edited/.test(e.message));
  assert.throws(() => parsePlanFile('{"kind":"other"}', 'p.json'), /is not a kvring plan/);
  assert.throws(() => planFromArgs(['--servers', 'kv-0.kv:7001', '--rate', '100'], 0), /npm run plan needs --start_at/);
  assert.throws(() => planFromArgs(['--generator_index', '1', '--start_at', '+1m'], 0), /Unknown argument/);
});

test('the generators own disjoint shares of the key space that together cover it, and their own DELETE namespaces', () => {
  const keySpace = 1001;
  const parts: GeneratorPart[] = [0, 1, 2].map((index) => ({ index, count: 3, threads: 2 }));
  const cursors: number[] = [];
  cursors[4] = 2; // worker 4 (generator 2's first) deleted keys 0 and 1 of its namespace
  const lists = parts.map((p) => keysOfPart(p, 'k:', keySpace, cursors));
  const shared = lists.flatMap((l) => l.filter((k) => !k.includes('del:')));
  assert.equal(new Set(shared).size, shared.length, 'no key in two shares');
  assert.equal(shared.length, keySpace);
  assert.ok(shared.includes(sharedKeyName('k:', 1000, keySpace)));
  assert.deepEqual(lists[2]!.filter((k) => k.includes('del:')), ['k:del:4:0000000000', 'k:del:4:0000000001']);
  assert.equal(totalWorkers(parts[0]!), 6);
});

test("the generators' release offsets put all G·T workers on one interleaved schedule", () => {
  // Worker w of generator g first sends at release + (g·T + i)/T periods (the pool's phase) + offset.
  for (const [count, threads, rate] of [
    [4, 1, 40_000],
    [3, 2, 6_000],
    [5, 3, 123_457],
  ] as const) {
    const periodMs = (count * threads * 1000) / rate;
    const firsts: number[] = [];
    for (let g = 0; g < count; g++) {
      const offset = releaseOffsetMs({ index: g, count, threads }, rate, 1000);
      for (let i = 0; i < threads; i++) firsts.push(offset + ((g * threads + i) / threads) * periodMs);
    }
    const slots = firsts.map((ms) => Math.round((ms * rate) / 1000)).sort((a, b) => a - b);
    assert.deepEqual(slots, Array.from({ length: count * threads }, (_, k) => k), `${count}×${threads} at ${rate}/s`);
  }
  assert.equal(releaseOffsetMs({ index: 3, count: 4, threads: 1 }, null, 1000), 0, 'closed loop: no schedule');
  // So low a rate that undoing the pool's whole periods would start in the previous step's slot.
  assert.equal(releaseOffsetMs({ index: 3, count: 4, threads: 1 }, 2, 500), 1500);
});
