// --slo: the highest measured throughput that still meets a latency objective, per server count
// and workload — the number users otherwise find by hand-bisecting the rate. Pure: steps in,
// SloResult out.

import { BenchConfigError } from '../errors.js';
import { decodeHistogram, percentileUs } from '../histogram.js';
import type { SloPoint, SloResult, StepResult } from '../results.js';
import { median } from './statistics.js';

export interface SloObjective {
  /** As written by the user, e.g. "p99<1ms". */
  objective: string;
  /** 0 < percentile ≤ 100, e.g. 99.9. */
  percentile: number;
  boundUs: number;
}

const UNIT_US: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };

/** Parses "p99<1ms", "p99.9 < 500us", "p50<0.2ms"; units us|µs|ms|s. */
export function parseSlo(text: string): SloObjective {
  const m = /^\s*p(\d+(?:\.\d+)?)\s*<=?\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\s*$/i.exec(text);
  const percentile = m === null ? NaN : Number(m[1]);
  if (m === null || !(percentile > 0 && percentile <= 100)) {
    throw new BenchConfigError(`--slo "${text}" is not an objective: write p<percentile><<bound><unit>, e.g. p99<1ms or p99.9<500us (units us, ms, s)`);
  }
  const boundUs = Number(m[2]) * UNIT_US[m[3]!.toLowerCase()]!;
  if (!(boundUs > 0)) throw new BenchConfigError(`--slo "${text}": the bound must be > 0`);
  return { objective: text.trim(), percentile, boundUs };
}


/**
 * For each (server count, workload), the highest achieved ops/s among open-loop levels that meet
 * the objective, considering only levels whose error rate is within `maxErrorRate` (0..1).
 * With --trials, a level's figures are the medians of its trials, so one lucky trial cannot
 * pass a level.
 */
export function computeSlo(steps: readonly StepResult[], objective: SloObjective, maxErrorRate: number): SloResult {
  const groups = new Map<string, { serverCount: number; workload: string; levels: Map<number, StepResult[]> }>();
  for (const step of steps) {
    const key = `${step.serverCount}\u0000${step.workload}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { serverCount: step.serverCount, workload: step.workload, levels: new Map() };
      groups.set(key, g);
    }
    if (step.phase !== 'level' || step.loadFraction === null) continue;
    const list = g.levels.get(step.loadFraction) ?? [];
    list.push(step);
    g.levels.set(step.loadFraction, list);
  }
  const points: SloPoint[] = [];
  for (const g of groups.values()) {
    let best: SloPoint = { serverCount: g.serverCount, workload: g.workload, maxOpsPerSec: null, latencyUs: null, stepIndex: null, clientBound: false };
    for (const trials of g.levels.values()) {
      const latencies = trials.map((s) => (s.total.latency.count === 0 ? Infinity : percentileUs(decodeHistogram(s.total.latencyHistogram), objective.percentile)));
      const achieved = median(trials.map((s) => s.achievedOpsPerSec));
      const latencyUs = median(latencies);
      const errorRate = median(trials.map((s) => s.errorRate));
      if (latencyUs > objective.boundUs || errorRate > maxErrorRate) continue;
      if (best.maxOpsPerSec === null || achieved > best.maxOpsPerSec) {
        best = {
          serverCount: g.serverCount,
          workload: g.workload,
          maxOpsPerSec: Math.round(achieved),
          latencyUs,
          stepIndex: trials[0]!.index,
          clientBound: trials.some((s) => s.client.clientBound),
        };
      }
    }
    points.push(best);
  }
  return { objective: objective.objective, percentile: objective.percentile, boundUs: objective.boundUs, points };
}
