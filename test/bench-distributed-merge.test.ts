import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRuns } from '../bench/analysis/merge-runs.js';
import { clockOffsets, mergeStarts } from '../bench/analysis/merge-parts.js';
import { MergeMismatchError } from '../bench/errors.js';
import type { GeneratorRecord, RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { ClockBounds, decodeClockValue, encodeClockValue } from '../bench/run/clock-exchange.js';
import { stepStartRecord, WallClock, type Clocks } from '../bench/run/start-clock.js';
import { makeRunResult } from './helpers/results-fixture.js';

// Merging the parts of a split run, and the clock arithmetic behind its start skew. Pure: synthetic
// parts (real encoded histograms) in, merged run out.

const START = '2026-05-01T12:00:00.000Z';
const PLANNED = Date.parse(START);

/** Part `index` of `count`: a valid run with a generator block and step starts late by `lateMs` (per step). */
function part(index: number, count: number, lateMs: number[] = [], clock: Record<string, number> | null = null, planId = 'aaaabbbbccccdddd'): RunResult {
  const r = makeRunResult({ serverCounts: [2], workloads: ['get'], fractions: [0.5, 1], samplesPerStep: 60, seed: index + 1, label: `k8s-g${index}` });
  r.machine.hostname = `gen-${index}`;
  r.config = { ...r.config, maxStartSkewMs: 5 };
  const generator: GeneratorRecord = { index, count, planId, startAt: START, firstWorker: index, threads: 1, clock: clock === null ? null : { via: '127.0.0.1:7000', rounds: 50, aheadAtMostMs: clock } };
  r.generator = generator;
  r.steps.forEach((s, i) => {
    const late = lateMs[i] ?? 0.5;
    s.start = { plannedAtMs: PLANNED + i * 2000, releaseLateMs: 0.1, firstThreadLateMs: late, lastThreadLateMs: late };
  });
  return r;
}

function mismatch(runs: RunResult[], pattern: RegExp): void {
  assert.throws(() => mergeRuns(runs), (e: unknown) => e instanceof MergeMismatchError && e.code === 'KV_ERR_MERGE_MISMATCH' && pattern.test(e.message), pattern.source);
}

test('the parts of a split run merge into one run: counts and throughput add up, in generator order whatever the input order', () => {
  const parts = [part(0, 3), part(1, 3), part(2, 3)];
  const { result, warnings } = mergeRuns([parts[2]!, parts[0]!, parts[1]!]);
  assert.deepEqual(validateRunResult(JSON.parse(JSON.stringify(result))), []);
  assert.equal(result.generator, undefined, 'the merged run is not a part');
  assert.equal(result.label, 'k8s-merged');
  assert.equal(result.generators!.count, 3);
  assert.equal(result.config['numThreads'], 3, 'the merged run is one run of all the generators\' workers');
  assert.deepEqual(
    result.generators!.parts.map((p) => p.machine),
    ['gen-0', 'gen-1', 'gen-2'],
  );
  result.steps.forEach((s, i) => {
    assert.equal(s.requests, parts.reduce((a, p) => a + p.steps[i]!.requests, 0));
    assert.ok(Math.abs(s.achievedOpsPerSec - parts.reduce((a, p) => a + p.steps[i]!.achievedOpsPerSec, 0)) < 1e-6);
    assert.equal(s.start!.skewMs, 0);
  });
  assert.deepEqual(warnings, ['the clocks of generator(s) 1, 2 were not compared with the others (started after the common start): their start skew assumes their clocks were right']);
});

test('merge refuses parts that do not belong together and says which file and what to do', () => {
  mismatch([part(0, 2), part(1, 2, [], null, 'ffffffffffffffff')], /gen-1 ran plan ffffffffffffffff, gen-0 plan aaaabbbbccccdddd/);
  const other = part(1, 2);
  other.generator!.startAt = '2026-05-01T13:00:00.000Z';
  mismatch([part(0, 2), other], /gen-1 started at 2026-05-01T13:00:00.000Z.*parts of different runs/);
  mismatch([part(0, 3), part(2, 3)], /the run had 3 generators but generator 1 is missing/);
  mismatch([part(0, 2)], /generator 1 is missing/);
  mismatch([part(0, 2), part(0, 2)], /are both generator 0: give each generator its own --generator_index/);
  mismatch([part(0, 2), part(1, 3)], /one of 3 generators, gen-0 one of 2/);
  const whole = makeRunResult({ serverCounts: [2], workloads: ['get'], fractions: [0.5, 1], samplesPerStep: 60 });
  mismatch([part(0, 2), whole], /is one part of a run split across generators but .* is a whole run/);
  const elsewhere = part(1, 2);
  elsewhere.servers = ['10.0.0.1:7001', '10.0.0.2:7001'];
  mismatch([part(0, 2), elsewhere], /give every generator the same --servers/);
});

test('a step whose generators started further apart than --max_start_skew_ms is client_bound, with the skew as its cause', () => {
  const { result } = mergeRuns([part(0, 2, [0.4, 0.4]), part(1, 2, [0.6, 9.4])]);
  assert.equal(result.steps[0]!.start!.skewMs, 0.2);
  assert.equal(result.steps[0]!.client.clientBound, false);
  assert.equal(result.steps[1]!.start!.skewMs, 9);
  assert.equal(result.steps[1]!.start!.lastThreadLateMs, 9.4);
  assert.equal(result.steps[1]!.client.clientBound, true);
  assert.match(result.steps[1]!.client.causes.at(-1)!, /generators started 9\.0 ms apart \(> --max_start_skew_ms 5\)/);
  assert.equal(result.generators!.worstStartSkewMs, 9);
});

test("a generator whose clock runs ahead started early by that much: its readings and the others' take it out of the skew", () => {
  // Generator 1's clock is 20 ms ahead: it released 20 ms early by the true time, although on its
  // own clock it was on time. Readings: 1 saw itself at most 20.8 ahead of 0; 0 saw itself at most −19.3 ahead of 1.
  const parts = [part(0, 2, [0.5], { '1': -19.3 }), part(1, 2, [0.5], { '0': 20.8 })];
  const { result, warnings } = mergeRuns(parts);
  const offsets = result.generators!.parts.map((p) => p.clockOffsetMs);
  assert.deepEqual(offsets, [0, 20.05]);
  assert.deepEqual(result.generators!.parts[1]!.clockOffsetBoundsMs, [19.3, 20.8]);
  assert.equal(result.steps[0]!.start!.skewMs, 20.05);
  assert.equal(result.steps[0]!.client.clientBound, true);
  assert.match(warnings.join('\n'), /generator 1's clock is 20\.1 ms off generator 0's/);
});

test('clock offsets: readings that allow 0 mean the clocks agree; one-sided readings give their bound', () => {
  const rec = (index: number, ahead: Record<string, number> | null): GeneratorRecord => ({ index, count: 3, planId: 'p', startAt: START, firstWorker: index, threads: 1, clock: ahead === null ? null : { via: 'x', rounds: 1, aheadAtMostMs: ahead } });
  const o = clockOffsets([rec(0, { '1': 0.7, '2': 3 }), rec(1, { '0': 0.9 }), rec(2, null)]);
  assert.equal(o.reference, 0);
  assert.deepEqual(o.offsetsMs, [0, 0, 0]);
  assert.deepEqual(o.boundsMs[2], [-3, null]);
  // Generator 2 never saw 0, but 0 saw it: 0 was at most −4 ahead of 2, so 2 is at least 4 ahead.
  assert.deepEqual(clockOffsets([rec(0, { '2': -4 }), rec(1, null), rec(2, null)]).offsetsMs, [0, null, 4]);
  assert.equal(mergeStarts([undefined, undefined], [0, 0]), undefined);
});

test('clock readings through a shared key: the least difference bounds the offset; a live writer of another plan is named', () => {
  assert.deepEqual(decodeClockValue(encodeClockValue('abc', 1234.5678)), { planId: 'abc', clockMs: 1234.568 });
  assert.equal(decodeClockValue('garbage'), null);
  const b = new ClockBounds(0, 'plan');
  assert.equal(b.observe([null, 'plan 1000.000', null], 1003), null);
  assert.equal(b.observe([null, 'plan 1010.000', 'other 5.000'], 1011.5), null, 'a key seen once may be left from an earlier run');
  assert.deepEqual(b.reading('s:1').aheadAtMostMs, { '1': 1.5 });
  assert.equal(b.seen(), 2);
  assert.equal(b.observe([null, 'plan 1020.000', 'other 25.000'], 1030), 2, 'it changed: a live generator with another plan');
  assert.equal(new ClockBounds(1, 'plan').observe([null, 'plan 7.000'], 9, 'plan 8.000'), 1, 'someone else wrote under this index');
});

test('the wall clock reads sub-millisecond time anchored at a tick of Date.now(), and a step start is measured from it', () => {
  let perf = 100.25;
  const clocks: Clocks = {
    dateNowMs: () => Math.floor(1_000_000 + perf - 100),
    perfNowMs: () => (perf += 0.01),
  };
  const clock = new WallClock(clocks);
  const now = clock.nowMs();
  assert.ok(Math.abs(now - (1_000_000 + perf - 100)) < 0.05, `${now}`);
  const release = { plannedAtMs: 2000, releasedAtMs: 2000.4, releasedPerfMs: 50 };
  assert.deepEqual(stepStartRecord(release, [50.5, 53]), { plannedAtMs: 2000, releaseLateMs: 0.4, firstThreadLateMs: 0.9, lastThreadLateMs: 3.4 });
  assert.deepEqual(stepStartRecord(release, []), { plannedAtMs: 2000, releaseLateMs: 0.4, firstThreadLateMs: 0.4, lastThreadLateMs: 0.4 });
});
