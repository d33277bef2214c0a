// One generator of a run split across several (--generators G): who it is and what it owns.
//
// The split is by worker index. Generator g of G, with T threads each, runs the workers
// g·T … g·T + T − 1 of a run of G·T workers: every per-worker stream of the bench — key and
// operation sequences (deriveSeed(seed, worker, step)), the DELETE namespace <prefix>del:<worker>:,
// the --verify key ownership (keys ≡ worker mod G·T), the preload share and the sequential
// offsets — is keyed by that global index. So G generators × T threads send exactly the requests
// one generator with G·T threads would, none collides with another's, and each drives 1/G of every
// step's rate. Pure, apart from the StepTiming shell at the end.

import { deleteKeyName, sharedKeyName } from '../key-names.js';
import type { StepStart } from '../results.js';
import type { PlannedStep, StepTime } from './plan.js';
import { stepStartRecord, waitUntil, type Release, type WallClock } from './start-clock.js';

/** The environment variable a Kubernetes Indexed Job sets to each pod's completion index. */
export const JOB_COMPLETION_INDEX = 'JOB_COMPLETION_INDEX';

export interface GeneratorPart {
  index: number;
  count: number;
  /** Threads (clients) per generator: the same on every generator of a run. */
  threads: number;
}

/** Global index of the generator's first worker. */
export function firstWorker(part: GeneratorPart): number {
  return part.index * part.threads;
}

/** Workers of the whole run, all generators together. */
export function totalWorkers(part: GeneratorPart): number {
  return part.count * part.threads;
}

/**
 * How long after a step's common instant generator `part.index` releases its workers, ms (negative:
 * before it), so that the G·T workers of all generators send on one interleaved schedule: worker W
 * (global) first at instant + W' / R for a permutation W' of 0 … G·T − 1, R the step's total rate.
 * The pool (run/worker-pool.ts) gives worker w the phase w / T of its period P = G·T / R, which for
 * generator g's workers is g whole periods plus i / T: the release is moved g·P earlier to undo the
 * whole periods and g / R later to put the generators between each other's sends. At rates so low
 * that this would start more than `maxEarlyMs` early (into the previous step's slot) the whole
 * periods stay: generator g then sends g periods late. 0 in closed-loop steps (no schedule).
 */
export function releaseOffsetMs(part: GeneratorPart, totalOpsPerSec: number | null, maxEarlyMs: number): number {
  if (totalOpsPerSec === null || !(totalOpsPerSec > 0)) return 0;
  const periodMs = (totalWorkers(part) * 1000) / totalOpsPerSec;
  const interleaveMs = (part.index * 1000) / totalOpsPerSec;
  const earlyMs = part.index * periodMs;
  return earlyMs - interleaveMs > maxEarlyMs ? interleaveMs : interleaveMs - earlyMs;
}

/**
 * Key names this generator may have written and deletes under --cleanup: its workers' share of the
 * shared key space (the keys their preload writes; together the generators cover all of it) and
 * its workers' DELETE namespaces up to `deleteCursors` (indexed by global worker).
 */
export function keysOfPart(part: GeneratorPart, prefix: string, keySpace: number, deleteCursors: readonly (number | undefined)[]): string[] {
  const keys: string[] = [];
  const first = firstWorker(part);
  const workers = totalWorkers(part);
  for (let w = first; w < first + part.threads; w++) {
    for (let k = w; k < keySpace; k += workers) keys.push(sharedKeyName(prefix, k, keySpace));
    const n = deleteCursors[w] ?? 0;
    for (let k = 0; k < n; k++) keys.push(deleteKeyName(prefix, w, k));
  }
  return keys;
}

/** What the coordinator asks of a timed plan (--start_at). */
export interface StepTiming {
  /** This generator's share of every step's total rate (1 / --generators). */
  readonly share: number;
  /** Waits for the planned instant of the key-space preload before `step`. */
  beforePreload(step: PlannedStep, signal: AbortSignal): Promise<void>;
  /** Waits for `step`'s planned instant (plus this generator's release offset); `totalOpsPerSec` is the step's rate over all generators. */
  beforeStep(step: PlannedStep, totalOpsPerSec: number | null, signal: AbortSignal): Promise<Release>;
  /** The step's start record, from the threads' start times (performance.now() ms). */
  startRecord(release: Release, threadStartsPerfMs: readonly number[]): StepStart;
  /** A line for the run's events when the step started later than --max_start_skew_ms, else null. */
  lateNote(step: PlannedStep, start: StepStart): string | null;
}

/** The timed plan of one generator: every instant is --start_at plus the plan's offset. */
export class PlannedStarts implements StepTiming {
  readonly share: number;

  constructor(
    private readonly part: GeneratorPart,
    private readonly startAtMs: number,
    private readonly times: readonly StepTime[],
    private readonly maxStartSkewMs: number,
    /** --step_gap_ms: a release may come at most half of it before the step's instant. */
    private readonly stepGapMs: number,
    private readonly clock: WallClock,
  ) {
    this.share = 1 / part.count;
  }

  async beforePreload(step: PlannedStep, signal: AbortSignal): Promise<void> {
    const at = this.times[step.index]?.preloadAtMs;
    if (at !== null && at !== undefined) await waitUntil(this.clock, this.startAtMs + at, signal);
  }

  beforeStep(step: PlannedStep, totalOpsPerSec: number | null, signal: AbortSignal): Promise<Release> {
    const offset = this.times[step.index]?.startAtMs ?? 0;
    return waitUntil(this.clock, this.startAtMs + offset + releaseOffsetMs(this.part, totalOpsPerSec, this.stepGapMs / 2), signal);
  }

  startRecord(release: Release, threadStartsPerfMs: readonly number[]): StepStart {
    return stepStartRecord(release, threadStartsPerfMs);
  }

  lateNote(step: PlannedStep, start: StepStart): string | null {
    if (start.lastThreadLateMs <= this.maxStartSkewMs) return null;
    return (
      `generator ${this.part.index}: step ${step.index} (${step.workload.name}) started ${start.lastThreadLateMs.toFixed(1)} ms after its planned instant ` +
      `(> --max_start_skew_ms ${this.maxStartSkewMs}); the previous step ran over its slot or this generator started late`
    );
  }
}
