import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { build } from 'hdr-histogram-js';
import {
  addSnapshot,
  countsIndexOf,
  createHistogram,
  decodeHistogram,
  encodeHistogram,
  hgrmText,
  LatencyRecorder,
  mergeEncoded,
  mergeSnapshots,
  summarize,
  valueFromCountsIndex,
} from '../bench/histogram.js';

function reference(values: number[]) {
  const h = build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 31, numberOfSignificantValueDigits: 3, autoResize: true });
  for (const v of values) h.recordValue(v);
  return h;
}

test('the recorder files every value in the bucket HdrHistogram itself would use', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 200 }), (values) => {
      const rec = new LatencyRecorder();
      for (const v of values) rec.record(v);
      const mine = rec.toHistogram();
      const ref = reference(values);
      assert.equal(mine.totalCount, ref.totalCount);
      for (const p of [0, 25, 50, 90, 99, 99.9, 100]) assert.equal(mine.getValueAtPercentile(p), ref.getValueAtPercentile(p), `p${p}`);
      assert.equal(mine.maxValue, ref.maxValue);
    }),
    { numRuns: 200 },
  );
});

test('a snapshot carries the same counts to another thread, extremes exact', () => {
  // Zeros and neighbours of bucket boundaries are where min/max bookkeeping can go wrong.
  const value = fc.oneof(fc.integer({ min: 0, max: 10_000_000 }), fc.constantFrom(0, 1, 2047, 2048, 2049, 4095, 4096, 4097));
  fc.assert(
    fc.property(fc.array(value, { minLength: 1, maxLength: 100 }), (values) => {
      const rec = new LatencyRecorder();
      for (const v of values) rec.record(v);
      const snap = structuredClone(rec.snapshot());
      const h = createHistogram();
      addSnapshot(h, snap);
      const ref = reference(values);
      assert.equal(h.totalCount, values.length);
      assert.equal(h.maxValue, ref.maxValue);
      assert.equal(h.minNonZeroValue, ref.minNonZeroValue);
      for (const p of [0, 50, 99, 100]) assert.equal(h.getValueAtPercentile(p), ref.getValueAtPercentile(p));
    }),
    { numRuns: 1000, examples: [[[2049, 0, 2048]], [[0, 0]], [[2048, 2049, 2050]]] },
  );
  assert.equal(mergeSnapshots([]).totalCount, 0);
});

test('bucket index and bucket base value invert each other at every bucket boundary', () => {
  for (let v = 0; v < 5000; v++) {
    const i = countsIndexOf(v);
    assert.ok(valueFromCountsIndex(i) <= v, `base of ${v}`);
    assert.equal(countsIndexOf(valueFromCountsIndex(i)), i);
  }
  for (const v of [2047, 2048, 4095, 4096, 1_000_000, 2 ** 31 - 1]) assert.equal(countsIndexOf(valueFromCountsIndex(countsIndexOf(v))), countsIndexOf(v));
});

test('fractional, negative and huge inputs are clamped and truncated, never thrown', () => {
  const rec = new LatencyRecorder();
  rec.record(-5);
  rec.record(12.9);
  rec.record(1e12);
  const h = rec.toHistogram();
  assert.equal(h.totalCount, 3);
  assert.equal(h.getValueAtPercentile(0), 0);
  assert.equal(h.getValueAtPercentile(50), 12);
});

test('reset empties the recorder and it records again from scratch', () => {
  const rec = new LatencyRecorder();
  rec.record(100);
  rec.reset();
  assert.equal(rec.count, 0);
  assert.equal(rec.toHistogram().totalCount, 0);
  rec.record(7);
  assert.equal(rec.toHistogram().getValueAtPercentile(100), 7);
});

test('encoded histograms decode to the same counts and merge by addition', () => {
  const a = new LatencyRecorder();
  const b = new LatencyRecorder();
  for (let i = 1; i <= 1000; i++) a.record(i);
  for (let i = 1; i <= 1000; i++) b.record(10_000 + i);
  const merged = mergeEncoded([a.encode(), b.encode()]);
  assert.equal(merged.totalCount, 2000);
  assert.ok(merged.getValueAtPercentile(50) <= 1001);
  assert.ok(merged.getValueAtPercentile(51) >= 10_000);
  const round = decodeHistogram(encodeHistogram(merged));
  assert.equal(round.totalCount, 2000);
  assert.equal(round.maxValue, merged.maxValue);
});

test('summaries are monotonic from min to max and empty histograms summarise to zeros', () => {
  const rec = new LatencyRecorder();
  for (let i = 0; i < 10_000; i++) rec.record((i * 7919) % 50_000);
  const s = summarize(rec.toHistogram());
  const order = [s.minUs, s.p50Us, s.p75Us, s.p90Us, s.p99Us, s.p999Us, s.p9999Us, s.maxUs];
  for (let i = 1; i < order.length; i++) assert.ok(order[i - 1]! <= order[i]!, `position ${i}: ${order.join(' ')}`);
  assert.equal(s.count, 10_000);
  assert.ok(Math.abs(s.meanUs - 25_000) < 100);
  assert.deepEqual(summarize(createHistogram()), { count: 0, minUs: 0, meanUs: 0, stdevUs: 0, maxUs: 0, p50Us: 0, p75Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0 });
});

test('.hgrm text is HdrHistogram percentile-distribution output in milliseconds', () => {
  const rec = new LatencyRecorder();
  for (let i = 1; i <= 100; i++) rec.record(i * 1000);
  const text = hgrmText(rec.toHistogram());
  assert.match(text, /Value\s+Percentile\s+TotalCount\s+1\/\(1-Percentile\)/);
  assert.match(text, /#\[Mean\s+=\s+50\.\d+/);
  assert.match(text, /#\[Max\s+=\s+100\.\d+/);
  assert.match(text, /Total count\s+=\s+100\]/);
});
