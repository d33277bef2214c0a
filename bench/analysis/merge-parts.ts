// The parts of a run split across generators (--generators), before merge adds them up: do they
// belong together, how far apart were their clocks, and how far apart did each step start. Pure:
// RunResults in, checks and figures out.

import { MergeMismatchError } from '../errors.js';
import type { GeneratorPartSummary, GeneratorRecord, RunResult, StepStart } from '../results.js';

/** The label of one part: the run's label and "-g<index>", so parts writing to one folder never collide. */
export function partLabel(label: string, index: number): string {
  return `${label}-g${index}`;
}

/** The run's label back from a part's: merge names the merged run after it. */
export function labelOfParts(partLabelText: string): string {
  return partLabelText.replace(/-g\d+$/, '');
}

/** The parts, sorted by generator index, with the names to use in messages. */
export interface OrderedParts {
  runs: RunResult[];
  names: string[];
  records: GeneratorRecord[];
}

/**
 * Checks that `runs` are all the parts of one split run: every one a part, the same plan id,
 * start and generator count, each index once, none missing. Throws MergeMismatchError saying
 * which file is off and what to do; returns the parts in index order.
 */
export function orderParts(runs: readonly RunResult[], names: readonly string[]): OrderedParts {
  const whole = runs.findIndex((r) => r.generator === undefined);
  if (whole >= 0) {
    const part = runs.findIndex((r) => r.generator !== undefined);
    throw new MergeMismatchError(
      `${names[part]} is one part of a run split across generators but ${names[whole]} is a whole run: merge the parts of one split run (the results of every --generator_index), or whole runs only`,
    );
  }
  const first = runs[0]!.generator!;
  runs.forEach((r, i) => {
    const g = r.generator!;
    if (g.planId !== first.planId) {
      throw new MergeMismatchError(`${names[i]} ran plan ${g.planId}, ${names[0]} plan ${first.planId}: the parts measured different settings; merge the parts of one run (same plan file or flags)`);
    }
    if (g.startAt !== first.startAt) {
      throw new MergeMismatchError(`${names[i]} started at ${g.startAt}, ${names[0]} at ${first.startAt}: these are parts of different runs; merge the parts of one run`);
    }
    if (g.count !== first.count) {
      throw new MergeMismatchError(`${names[i]} is one of ${g.count} generators, ${names[0]} one of ${first.count}: merge the parts of one run`);
    }
    if (r.servers.join(',') !== runs[0]!.servers.join(',')) {
      throw new MergeMismatchError(`${names[i]} drove ${r.servers.join(',')}, ${names[0]} drove ${runs[0]!.servers.join(',')}: give every generator the same --servers`);
    }
  });
  const byIndex = new Map<number, number>();
  runs.forEach((r, i) => {
    const index = r.generator!.index;
    const other = byIndex.get(index);
    if (other !== undefined) throw new MergeMismatchError(`${names[other]} and ${names[i]} are both generator ${index}: give each generator its own --generator_index (or merge each part once)`);
    byIndex.set(index, i);
  });
  const missing = Array.from({ length: first.count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) {
    throw new MergeMismatchError(
      `the run had ${first.count} generators but generator${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing: pass every part's results.json (a generator that failed has none: run the plan again)`,
    );
  }
  const order = [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, i]) => i);
  return { runs: order.map((i) => runs[i]!), names: order.map((i) => names[i]!), records: order.map((i) => runs[i]!.generator!) };
}

/** Each part's clock offset against the reference generator's, ms, and the bounds it rests on. */
export interface ClockOffsets {
  reference: number;
  /** By part (index order): offset (this clock − the reference's) or null when not measured. */
  offsetsMs: (number | null)[];
  boundsMs: [number | null, number | null][];
}

/**
 * Puts the generators' one-sided clock readings together. Generator a saw "a is at most X ahead of
 * b", generator b "b is at most Y ahead of a": a − b lies in [−Y, X]. Against the reference (the
 * first part with readings): an interval holding 0 gives 0 (the clocks agree within what the
 * readings can tell), one that does not gives its middle, or its one finite end.
 */
export function clockOffsets(records: readonly GeneratorRecord[]): ClockOffsets {
  const refPos = Math.max(0, records.findIndex((r) => r.clock !== null && Object.keys(r.clock.aheadAtMostMs).length > 0));
  const ref = records[refPos]!;
  const offsetsMs: (number | null)[] = [];
  const boundsMs: [number | null, number | null][] = [];
  for (const r of records) {
    if (r === ref) {
      offsetsMs.push(0);
      boundsMs.push([0, 0]);
      continue;
    }
    const upper = r.clock?.aheadAtMostMs[String(ref.index)];
    const fromRef = ref.clock?.aheadAtMostMs[String(r.index)];
    const lower = fromRef === undefined ? undefined : -fromRef;
    boundsMs.push([lower ?? null, upper ?? null]);
    if (upper === undefined && lower === undefined) offsetsMs.push(null);
    else if (upper !== undefined && lower !== undefined) offsetsMs.push(lower <= 0 && upper >= 0 ? 0 : (lower + upper) / 2);
    else if (upper !== undefined) offsetsMs.push(upper >= 0 ? 0 : upper);
    else offsetsMs.push(lower! <= 0 ? 0 : lower!);
  }
  return { reference: ref.index, offsetsMs, boundsMs };
}

/**
 * A step's start across the parts: the spread of every thread's start once each generator's clock
 * offset is taken out (a generator whose clock runs ahead started early by that much), and the
 * latest start against its plan. Parts without a start record are left out. Pure.
 */
export function mergeStarts(starts: readonly (StepStart | undefined)[], offsetsMs: readonly (number | null)[]): StepStart | undefined {
  let first = Infinity;
  let last = -Infinity;
  let latestLate = -Infinity;
  let earliestLate = Infinity;
  let plannedAtMs = Infinity;
  const releases: number[] = [];
  starts.forEach((s, i) => {
    if (s === undefined) return;
    const offset = offsetsMs[i] ?? 0;
    if (s.releaseLateMs !== undefined) releases.push(s.releaseLateMs - offset);
    first = Math.min(first, s.firstThreadLateMs - offset);
    last = Math.max(last, s.lastThreadLateMs - offset);
    latestLate = Math.max(latestLate, s.lastThreadLateMs);
    earliestLate = Math.min(earliestLate, s.firstThreadLateMs);
    plannedAtMs = Math.min(plannedAtMs, s.plannedAtMs);
  });
  if (!Number.isFinite(first)) return undefined;
  const round = (ms: number): number => Math.round(ms * 1000) / 1000;
  const releaseLates = starts.map((s) => s?.releaseLateMs).filter((r): r is number => r !== undefined);
  return {
    plannedAtMs: round(plannedAtMs),
    ...(releaseLates.length > 0 ? { releaseLateMs: round(Math.max(...releaseLates)) } : {}),
    firstThreadLateMs: round(earliestLate), lastThreadLateMs: round(latestLate), skewMs: round(last - first), ...(releases.length > 0 ? { releaseSkewMs: round(Math.max(...releases) - Math.min(...releases)) } : {}) };
}

/** The parts' summary for the merged run's `generators` block. */
export function partSummaries(parts: OrderedParts, offsets: ClockOffsets): GeneratorPartSummary[] {
  return parts.records.map((r, i) => ({
    index: r.index,
    machine: parts.names[i]!,
    clockOffsetMs: offsets.offsetsMs[i] === null ? null : Math.round(offsets.offsetsMs[i]! * 1000) / 1000,
    clockOffsetBoundsMs: offsets.boundsMs[i]!,
  }));
}
