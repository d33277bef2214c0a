import type { RunResult } from '../results.js';

// Several runs of the same plan (for example alternating baseline and candidate builds in CI, one
// run each per round) become one run whose trials are all of theirs. Pure.

/**
 * One RunResult holding every step of `runs` (given in the order they ran): each run's trials are
 * renumbered after the previous run's, step indexes are renumbered in order, the timeline is laid
 * end to end. Settings, machine and SLO come from the first run.
 */
export function combineTrials(runs: readonly RunResult[]): RunResult {
  if (runs.length === 0) throw new RangeError('combineTrials needs at least one run');
  if (runs.length === 1) return runs[0]!;
  const first = runs[0]!;
  const steps: RunResult['steps'] = [];
  const intervals: RunResult['intervals'] = [];
  const events: RunResult['events'] = [];
  /** The first run's old → new step indexes: its SLO block is the one kept. */
  const firstIndexMap = new Map<number, number>();
  let trialOffset = 0;
  let timeOffsetSec = 0;
  for (const [i, run] of runs.entries()) {
    const indexMap = i === 0 ? firstIndexMap : new Map<number, number>();
    let maxTrial = -1;
    for (const step of run.steps) {
      indexMap.set(step.index, steps.length);
      steps.push({ ...step, index: steps.length, trial: step.trial + trialOffset });
      maxTrial = Math.max(maxTrial, step.trial);
    }
    let lastT = 0;
    for (const iv of run.intervals) {
      const stepIndex = indexMap.get(iv.stepIndex);
      if (stepIndex === undefined) continue;
      intervals.push({ ...iv, tSec: iv.tSec + timeOffsetSec, stepIndex });
      lastT = Math.max(lastT, iv.tSec);
    }
    for (const e of run.events) {
      events.push({ ...e, tSec: e.tSec + timeOffsetSec });
      lastT = Math.max(lastT, e.tSec);
    }
    trialOffset += maxTrial + 1;
    timeOffsetSec += lastT;
  }
  const labels = [...new Set(runs.map((r) => r.label))];
  const slo = remapSlo(first.slo, firstIndexMap);
  return {
    ...first,
    label: labels.length === 1 ? labels[0]! : labels.join('+'),
    startedAt: first.startedAt,
    finishedAt: runs[runs.length - 1]!.finishedAt,
    servers: [...new Set(runs.flatMap((r) => r.servers))],
    config: { ...first.config, combinedRuns: runs.length },
    steps,
    intervals,
    slo,
    events,
    interrupted: runs.some((r) => r.interrupted),
  };
}

/**
 * The run without its first `k` trials (warm-up: a freshly started server and load generator run
 * slower while the JIT compiles their hot paths). Trials and step indexes are renumbered; the
 * timeline keeps only the remaining steps.
 */
export function dropFirstTrials(run: RunResult, k: number): RunResult {
  if (k <= 0) return run;
  const indexMap = new Map<number, number>();
  const steps: RunResult['steps'] = [];
  for (const step of run.steps) {
    if (step.trial < k) continue;
    indexMap.set(step.index, steps.length);
    steps.push({ ...step, index: steps.length, trial: step.trial - k });
  }
  const intervals = run.intervals.flatMap((iv) => {
    const stepIndex = indexMap.get(iv.stepIndex);
    return stepIndex === undefined ? [] : [{ ...iv, stepIndex }];
  });
  return { ...run, steps, intervals, slo: remapSlo(run.slo, indexMap) };
}

/** The SLO block with its step indexes renumbered by `indexMap` (steps left out become null). */
function remapSlo(slo: RunResult['slo'], indexMap: ReadonlyMap<number, number>): RunResult['slo'] {
  if (!slo) return null;
  return { ...slo, points: slo.points.map((p) => ({ ...p, stepIndex: p.stepIndex === null ? null : (indexMap.get(p.stepIndex) ?? null) })) };
}
