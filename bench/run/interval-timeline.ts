// The run's time series: every worker reports each interval (replies, errors, a latency
// histogram); once all workers reported interval k of a step, their figures merge into one point
// of the timeline (ops/s, p50, p99). A step's short tail joins the point before it.

import type { Histogram } from 'hdr-histogram-js';
import { mergeSnapshots, percentileUs, type HistogramSnapshot } from '../histogram.js';
import type { WorkerToMain } from '../messages.js';
import type { IntervalPoint } from '../results.js';

interface IntervalGroup {
  replies: number;
  errors: number;
  histograms: HistogramSnapshot[];
  endMs: number;
  reported: number;
}

export class IntervalTimeline {
  readonly points: IntervalPoint[] = [];
  private readonly groups = new Map<number, IntervalGroup>();
  private readonly workerElapsedMs: number[];
  private stepStartSec = 0;
  private resultIndex = 0;
  private lastIntervalEndMs = 0;
  /** The current step's latest point, while a short tail may still join it. */
  private lastPoint: { point: IntervalPoint; histogram: Histogram; replies: number; lengthMs: number } | null = null;

  constructor(
    private readonly workerCount: number,
    private readonly intervalMs: number,
    private readonly onPoint: (point: IntervalPoint) => void = () => undefined,
  ) {
    this.workerElapsedMs = new Array<number>(workerCount).fill(0);
  }

  /** A step starts: its points belong to results step `resultIndex` and count from `startSec` of the run. */
  startStep(resultIndex: number, startSec: number): void {
    this.resultIndex = resultIndex;
    this.stepStartSec = startSec;
    this.workerElapsedMs.fill(0);
    this.lastIntervalEndMs = 0;
    this.lastPoint = null;
  }

  add(m: Extract<WorkerToMain, { type: 'interval' }>): void {
    this.workerElapsedMs[m.workerIndex] = (this.workerElapsedMs[m.workerIndex] ?? 0) + m.durationMs;
    let g = this.groups.get(m.seq);
    if (g === undefined) {
      g = { replies: 0, errors: 0, histograms: [], endMs: 0, reported: 0 };
      this.groups.set(m.seq, g);
    }
    g.replies += m.replies;
    g.errors += m.errors;
    g.histograms.push(m.latency);
    g.endMs = Math.max(g.endMs, this.workerElapsedMs[m.workerIndex]!);
    g.reported++;
    if (g.reported === this.workerCount) this.emit(m.seq, g);
  }

  /** The step ended: intervals not every worker reported become points now, in order. */
  flush(): void {
    for (const seq of [...this.groups.keys()].sort((a, b) => a - b)) this.emit(seq, this.groups.get(seq)!);
  }

  private emit(seq: number, g: IntervalGroup): void {
    this.groups.delete(seq);
    const lengthMs = Math.max(g.endMs - this.lastIntervalEndMs, 1);
    this.lastIntervalEndMs = g.endMs;
    const h = mergeSnapshots(g.histograms);
    const last = this.lastPoint;
    if (last !== null && lengthMs < this.intervalMs / 4) {
      // A step's short tail (its last replies after the final full interval) joins the interval
      // before it instead of becoming a point of its own with a meaningless rate.
      last.histogram.add(h);
      last.replies += g.replies;
      last.lengthMs += lengthMs;
      last.point.tSec = this.pointTime(g.endMs);
      last.point.opsPerSec = Math.round((last.replies / last.lengthMs) * 1000);
      last.point.errors += g.errors;
      last.point.p50Us = percentileUs(last.histogram, 50);
      last.point.p99Us = percentileUs(last.histogram, 99);
      return;
    }
    const point: IntervalPoint = {
      tSec: this.pointTime(g.endMs),
      stepIndex: this.resultIndex,
      opsPerSec: Math.round((g.replies / lengthMs) * 1000),
      errors: g.errors,
      p50Us: percentileUs(h, 50),
      p99Us: percentileUs(h, 99),
    };
    this.points.push(point);
    this.lastPoint = { point, histogram: h, replies: g.replies, lengthMs };
    this.onPoint(point);
  }

  private pointTime(endMs: number): number {
    return Math.round((this.stepStartSec + endMs / 1000) * 1000) / 1000;
  }
}
