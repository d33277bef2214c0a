// HdrHistogram helpers for the bench: a fast recorder for workers' hot paths, and the
// hdr-histogram-js side (merge with add, encode/decode, summaries, .hgrm text) for the main thread.
//
// Why a recorder of our own: hdr-histogram-js's JS recordValue costs ~120 ns (measured on this
// machine; the WebAssembly build ~35 ns but needs async start-up in every thread), and a worker
// records 4 values per request. `LatencyRecorder` keeps the exact bucket layout of an
// HdrHistogram with lowestDiscernibleValue 1 and 3 significant digits in a Float64Array
// (~3 ns per record), and is converted to a real Histogram once per interval: the counts are
// identical to what recordValue would have produced (test/bench-histogram.test.ts checks it).

import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { LatencySummary } from './results.js';

/** Significant decimal digits of every bench histogram (values are microseconds). */
export const SIGNIFICANT_DIGITS = 3;

// HdrHistogram layout for lowestDiscernibleValue = 1 (unitMagnitude 0) and 3 significant digits:
// largestValueWithSingleUnitResolution = 2000 → subBucketCount = 2048 (magnitude 11), half 1024.
const SUB_BUCKET_HALF_COUNT_MAGNITUDE = 10;
const SUB_BUCKET_HALF_COUNT = 1 << SUB_BUCKET_HALF_COUNT_MAGNITUDE;
const SUB_BUCKET_MASK = 2 * SUB_BUCKET_HALF_COUNT - 1;
/** 32 - unitMagnitude - subBucketHalfCountMagnitude - 1, for 32-bit values. */
const LEADING_ZERO_COUNT_BASE = 32 - 0 - SUB_BUCKET_HALF_COUNT_MAGNITUDE - 1;
/** Values are clamped to 2^31 - 1 µs (~36 minutes): far above any timeout. */
export const MAX_RECORDABLE_US = 0x7fffffff;
const COUNTS_LENGTH = (LEADING_ZERO_COUNT_BASE - Math.clz32(MAX_RECORDABLE_US) + 2) << SUB_BUCKET_HALF_COUNT_MAGNITUDE;

/** Index of `value`'s bucket in an HdrHistogram counts array with the layout above. */
export function countsIndexOf(value: number): number {
  const bucketIndex = LEADING_ZERO_COUNT_BASE - Math.clz32(value | SUB_BUCKET_MASK);
  const subBucketIndex = value >>> bucketIndex;
  return ((bucketIndex + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + subBucketIndex - SUB_BUCKET_HALF_COUNT;
}

/** Lowest value that falls into bucket `index` (what HdrHistogram iterates as valueIteratedTo's base). */
export function valueFromCountsIndex(index: number): number {
  let bucketIndex = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) - 1;
  let subBucketIndex = (index & (SUB_BUCKET_HALF_COUNT - 1)) + SUB_BUCKET_HALF_COUNT;
  if (bucketIndex < 0) {
    subBucketIndex -= SUB_BUCKET_HALF_COUNT;
    bucketIndex = 0;
  }
  return subBucketIndex * 2 ** bucketIndex;
}

/**
 * Records integer microsecond values into HdrHistogram buckets; allocation-free.
 * `toHistogram()` produces the equivalent hdr-histogram-js Histogram.
 */
export class LatencyRecorder {
  private readonly counts = new Float64Array(COUNTS_LENGTH);
  /** Lowest and highest bucket index touched since the last reset: bounds the conversion loop. */
  private lowIndex = COUNTS_LENGTH;
  private highIndex = -1;
  /**
   * Exact extremes, so the converted histogram reports the true max and minNonZeroValue like
   * recordValue does. Bucket 0 holds only the value 0, so the minimum itself needs no field.
   */
  private minNonZeroValue = MAX_RECORDABLE_US;
  private maxValue = 0;
  count = 0;

  // Hot path: called up to four times per request.
  record(valueUs: number): void {
    const v = valueUs <= 0 ? 0 : valueUs >= MAX_RECORDABLE_US ? MAX_RECORDABLE_US : valueUs | 0;
    const i = countsIndexOf(v);
    this.counts[i]!++;
    if (i < this.lowIndex) this.lowIndex = i;
    if (v < this.minNonZeroValue && v !== 0) this.minNonZeroValue = v;
    if (i > this.highIndex) {
      this.highIndex = i;
      this.maxValue = v;
    } else if (i === this.highIndex && v > this.maxValue) {
      this.maxValue = v;
    }
    this.count++;
  }

  /** Adds this recorder's counts into `target` (an hdr-histogram-js Histogram). */
  addTo(target: Histogram): void {
    addSnapshot(target, this.snapshot());
  }

  toHistogram(): Histogram {
    const h = createHistogram();
    this.addTo(h);
    return h;
  }

  /** The compressed base64 form of results.json (costs milliseconds: not for a worker's hot loop). */
  encode(): string {
    return encodeHistogram(this.toHistogram());
  }

  /**
   * The non-empty buckets, for sending to the main thread: tens of microseconds, where encode()
   * takes 2–13 ms (deflate in JS) and would stall a worker's schedule once per interval.
   */
  snapshot(): HistogramSnapshot {
    let n = 0;
    const counts = this.counts;
    for (let i = this.lowIndex; i <= this.highIndex; i++) if (counts[i] !== 0) n++;
    const indexes = new Uint32Array(n);
    const values = new Float64Array(n);
    let k = 0;
    for (let i = this.lowIndex; i <= this.highIndex; i++) {
      const c = counts[i]!;
      if (c === 0) continue;
      indexes[k] = i;
      values[k++] = c;
    }
    return { indexes, counts: values, minNonZeroUs: this.minNonZeroValue, maxUs: this.maxValue };
  }

  reset(): void {
    if (this.highIndex >= 0) this.counts.fill(0, this.lowIndex, this.highIndex + 1);
    this.lowIndex = COUNTS_LENGTH;
    this.highIndex = -1;
    this.minNonZeroValue = MAX_RECORDABLE_US;
    this.maxValue = 0;
    this.count = 0;
  }
}

/** A recorder's non-empty buckets (HdrHistogram counts-array indexes) and its exact extremes. */
export interface HistogramSnapshot {
  indexes: Uint32Array;
  counts: Float64Array;
  minNonZeroUs: number;
  maxUs: number;
}

/**
 * Adds a snapshot's counts into `target`: the same buckets recordValue would have produced, with
 * the exact smallest non-zero value and the exact maximum (inner buckets go in at their base value,
 * which lands in the same bucket, so percentiles and mean are unchanged).
 */
export function addSnapshot(target: Histogram, s: HistogramSnapshot): void {
  const n = s.indexes.length;
  const firstNonZero = n > 0 && s.indexes[0] === 0 ? 1 : 0;
  for (let k = 0; k < n; k++) {
    const count = s.counts[k]!;
    const index = s.indexes[k]!;
    if (index === 0) target.recordValueWithCount(0, count);
    else if (k === firstNonZero && k === n - 1) {
      // One bucket holding both extremes (equal when count is 1).
      if (count > 1) target.recordValueWithCount(s.minNonZeroUs, count - 1);
      target.recordValueWithCount(s.maxUs, 1);
    } else if (k === firstNonZero) target.recordValueWithCount(s.minNonZeroUs, count);
    else if (k === n - 1) target.recordValueWithCount(s.maxUs, count);
    else target.recordValueWithCount(valueFromCountsIndex(index), count);
  }
}

/** One histogram holding the sum of the snapshots. */
export function mergeSnapshots(snapshots: readonly HistogramSnapshot[]): Histogram {
  const merged = createHistogram();
  for (const s of snapshots) addSnapshot(merged, s);
  return merged;
}

/** An empty microsecond histogram (auto-resizing, 3 significant digits). */
export function createHistogram(): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 2 ** 31, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, autoResize: true });
}

export function encodeHistogram(h: Histogram): string {
  return encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  return decodeFromCompressedBase64(encoded);
}

/** One histogram holding the sum of the encoded ones. */
export function mergeEncoded(encoded: readonly string[]): Histogram {
  const merged = createHistogram();
  for (const e of encoded) merged.add(decodeHistogram(e));
  return merged;
}

/**
 * Summary of a histogram in microseconds. Percentiles are HdrHistogram's (the highest value
 * equivalent to the percentile's bucket), so min ≤ p50 ≤ … ≤ p99.99 ≤ max always holds.
 */
export function summarize(h: Histogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) {
    return { count: 0, minUs: 0, meanUs: 0, stdevUs: 0, maxUs: 0, p50Us: 0, p75Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0 };
  }
  const maxUs = h.maxValue;
  const at = (p: number): number => Math.min(h.getValueAtPercentile(p), maxUs);
  return {
    count,
    minUs: Math.min(h.getValueAtPercentile(0), maxUs),
    meanUs: round3(h.mean),
    stdevUs: round3(h.stdDeviation),
    maxUs,
    p50Us: at(50),
    p75Us: at(75),
    p90Us: at(90),
    p99Us: at(99),
    p999Us: at(99.9),
    p9999Us: at(99.99),
  };
}

/** Value at any percentile (0..100), µs; 0 for an empty histogram. */
export function percentileUs(h: Histogram, percentile: number): number {
  return h.totalCount === 0 ? 0 : Math.min(h.getValueAtPercentile(percentile), h.maxValue);
}

/**
 * HdrHistogram's percentile-distribution text (the `.hgrm` format that HdrHistogram's plotter
 * loads), with values in milliseconds like wrk2 and the Java tools print them.
 */
export function hgrmText(h: Histogram): string {
  return h.outputPercentileDistribution(5, 1000);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
