// From settings to the ordered list of steps a run measures. Pure: config in, steps out.
//
// Order: for each server count, for each workload: the closed-loop max probe (× trials), then the
// open-loop levels, all levels once per trial (10 25 … 110, 10 25 … 110, …) so that slow drifts of
// a noisy machine spread over every level instead of landing on one. Open-loop targets are
// fractions of the median probe, known only at run time: a planned step carries the fraction.

import type { BenchConfig } from './config.js';
import type { LoadMode, StepPhase } from '../results.js';
import type { Workload } from '../workload.js';

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

/** Rough wall time of a plan, seconds: steps × duration plus per-step overhead (connect, drain). */
export function estimateSeconds(steps: readonly PlannedStep[], config: Pick<BenchConfig, 'stepDurationSec' | 'numRequests'>): number | null {
  if (config.numRequests !== null) return null;
  return steps.length * (config.stepDurationSec + 0.1);
}
