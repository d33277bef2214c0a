// From settings to the ordered list of steps a run measures. Pure: config in, steps out.
//
// Order: for each server count, for each workload: the closed-loop max probe (× trials), then the
// open-loop levels, all levels once per trial (10 25 … 110, 10 25 … 110, …) so that slow drifts of
// a noisy machine spread over every level instead of landing on one. Open-loop targets are
// fractions of the median probe, known only at run time: a planned step carries the fraction.

import type { BenchConfig } from './config.js';
import type { LoadMode, StepPhase } from '../results.js';
import { needsKeySpacePreload, type Workload } from '../workload.js';

export interface PlannedStep {
  index: number;
  serverCount: number;
  workload: Workload;
  mode: LoadMode;
  phase: StepPhase;
  /** Offered load as a fraction of the probe (or of --rate); null for closed-loop steps. */
  loadFraction: number | null;
  trial: number;
}

export type PlanInput = Pick<BenchConfig, 'serverCounts' | 'workloads' | 'mode' | 'loadLevels' | 'rateOpsPerSec' | 'trials'>;

export function planSteps(config: PlanInput): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const add = (s: Omit<PlannedStep, 'index'>): void => {
    steps.push({ index: steps.length, ...s });
  };
  for (const serverCount of config.serverCounts) {
    for (const workload of config.workloads) {
      // Closed mode is the probes alone; open mode probes first unless --rate gives the maximum.
      if (config.mode === 'closed' || config.rateOpsPerSec === null) {
        for (let trial = 0; trial < config.trials; trial++) add({ serverCount, workload, mode: 'closed', phase: 'max', loadFraction: null, trial });
      }
      if (config.mode === 'closed') continue;
      for (let trial = 0; trial < config.trials; trial++) {
        for (const loadFraction of config.loadLevels) add({ serverCount, workload, mode: 'open', phase: 'level', loadFraction, trial });
      }
    }
  }
  return steps;
}

/**
 * Keys per second one client (worker) is budgeted to preload in a timed plan (--start_at). Its
 * deep-pipelined preload measured 60–90k keys/s per client against two local servers on a shared
 * 2-core machine; the budget takes a quarter of that, because a preload that overruns makes every
 * generator's next step start late.
 */
export const PRELOAD_KEYS_PER_SEC_PER_CLIENT = 20_000;

/** When a step of a timed plan happens, ms after --start_at. */
export interface StepTime {
  /** The key-space preload this step needs first (a new set of servers), or null. */
  preloadAtMs: number | null;
  startAtMs: number;
}

export type TimelineInput = Pick<BenchConfig, 'stepDurationSec' | 'stepGapMs' | 'keySpace' | 'generators' | 'numThreads'>;

/**
 * The timeline every generator of a split run follows: step k starts at a fixed offset from
 * --start_at, so that generators that never talk to each other start it together. Each step gets
 * its duration plus --step_gap_ms (its last replies, the next step's set-up); a key-space preload
 * (before the first step on a new set of servers, as the coordinator does it) gets the time the
 * slowest share needs at PRELOAD_KEYS_PER_SEC_PER_CLIENT, plus the gap. Pure.
 */
export function stepTimeline(steps: readonly PlannedStep[], config: TimelineInput): { times: StepTime[]; endMs: number } {
  const clients = config.generators * config.numThreads;
  const preloadMs = Math.ceil((Math.ceil(config.keySpace / clients) / PRELOAD_KEYS_PER_SEC_PER_CLIENT) * 1000) + config.stepGapMs;
  const stepMs = config.stepDurationSec * 1000 + config.stepGapMs;
  const times: StepTime[] = [];
  let preloadedFor: string | null = null;
  let t = 0;
  for (const step of steps) {
    let preloadAtMs: number | null = null;
    const serversKey = String(step.serverCount);
    if (needsKeySpacePreload(step.workload) && preloadedFor !== serversKey) {
      preloadAtMs = t;
      t += preloadMs;
      preloadedFor = serversKey;
    }
    times.push({ preloadAtMs, startAtMs: t });
    t += stepMs;
  }
  return { times, endMs: t };
}

/** Rough wall time of a plan, seconds: steps × duration plus per-step overhead (connect, drain). */
export function estimateSeconds(steps: readonly PlannedStep[], config: Pick<BenchConfig, 'stepDurationSec' | 'numRequests'>): number | null {
  if (config.numRequests !== null) return null;
  return steps.length * (config.stepDurationSec + 0.1);
}
