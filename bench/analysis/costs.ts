// What a request costs a server in work that does not depend on time: user-space instructions
// (cachegrind) and system calls (strace), per operation. Pure: the tools' output in, per-request
// counts and the deterministic gate's verdicts out. The shell that runs the tools is
// bench/costs/measure.ts; the sequences it runs are bench/costs/sequence.ts.
//
// The difference method: four runs of the same server, "base" with every phase short and one run
// per operation whose phase is long. (count(op run) − count(base run)) / (long − short) is what one
// more request of that operation costs: start-up, preload and exit are the same in both runs and
// cancel out.

import { COST_OPERATIONS, COST_SEQUENCES, type CostOperation, type CostSequenceName, type CostSequenceSpec } from '../costs/sequence.js';
import { relativeChange } from './statistics.js';

export const COST_METRICS = ['instructions', 'syscalls'] as const;
export type CostMetric = (typeof COST_METRICS)[number];

/** Marks a costs.json file; bumped when its meaning changes. */
export const COSTS_FORMAT = 'kvring-costs/1';

/** One metric of one build: totals per sequence, per-request figures per operation. */
export interface MetricCosts {
  /** How it was counted, e.g. "valgrind --tool=cachegrind --cache-sim=no, node --predictable". */
  tool: string;
  /** The whole run's count, per sequence. */
  totals: Record<CostSequenceName, number>;
  /** (total of the op's sequence − total of base) / (long − short). */
  perRequest: Record<CostOperation, number>;
  /** syscalls only: the same difference per system call name (only names whose count moved). */
  byName?: Record<CostOperation, Record<string, number>>;
  /** Every repeat's whole-run count, per sequence; `totals` holds the least of each (leastOfRepeats). */
  repeats?: Record<CostSequenceName, number[]>;
}

/** A build's costs.json. A metric is null when its tool is missing, and `missing` says why. */
export interface CostProfile {
  format: typeof COSTS_FORMAT;
  /** The server measured: the path of its main.js. */
  server: string;
  /** process.version of the node that ran the server: instruction counts are only comparable on one. */
  node: string;
  sequence: CostSequenceSpec;
  instructions: MetricCosts | null;
  syscalls: MetricCosts | null;
  missing: Partial<Record<CostMetric, string>>;
  /** Wall time of the measurement (information: nothing here depends on it). */
  elapsedSec: number;
}

/** Instructions of a cachegrind output file: its `summary:` line (the first event is Ir). Null if absent. */
export function parseCachegrindTotal(text: string): number | null {
  const events = /^events:\s*(\S+)/m.exec(text);
  if (events !== null && events[1] !== 'Ir') return null;
  const m = /^summary:\s*(\d+)/m.exec(text);
  return m === null ? null : Number(m[1]);
}

/**
 * Calls per system call from a full `strace -f -yy` log: one key per name, and "name(eventfd)" /
 * "name(eventpoll)" for calls on libuv's wake-up descriptors (anon_inode: no file, no socket), kept
 * apart because how many wake-ups one read drains depends on timing. A call split by another
 * thread (<unfinished ...> / <... resumed>) counts once. Null when the text has no system call.
 */
export function parseStraceLog(text: string): Record<string, number> | null {
  const counts: Record<string, number> = {};
  let any = false;
  for (const line of text.split('\n')) {
    // "1234 read(20<TCP:[...]>, ...) = 4", optionally without the pid when one thread was traced.
    const m = /^(?:\d+\s+)?([a-z_0-9]+)\((\d+<anon_inode:\[?([a-z_]+))?/.exec(line);
    if (m === null) continue;
    any = true;
    const key = m[3] !== undefined ? `${m[1]}(${m[3]})` : m[1]!;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return any ? counts : null;
}

/**
 * System calls whose number follows time, not requests, so the gate leaves them out of its count
 * (they still show per name): how often the event loop waits depends on whether the next batch was
 * already there when it looked; thread hand-offs on the scheduler; and the heap's mappings on GC
 * heuristics that use time (V8's memory reducer) — the allocation itself shows in the instructions.
 * Measured here: these moved by up to 0.8 per request between identical runs; reads and writes of
 * the wake-up descriptors by a few calls a run; the rest (socket reads and writes above all) not at all.
 */
export const UNGATED_SYSCALLS: ReadonlySet<string> = new Set([
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'poll',
  'ppoll',
  'select',
  'pselect6',
  'futex',
  'sched_yield',
  'nanosleep',
  'clock_nanosleep',
  'brk',
  'mmap',
  'munmap',
  'mremap',
  'madvise',
  'mprotect',
]);

/** Whether the gate counts calls under this key of parseStraceLog: not UNGATED_SYSCALLS, not on a wake-up descriptor. */
export function isGatedSyscall(key: string): boolean {
  return !key.includes('(') && !UNGATED_SYSCALLS.has(key);
}

/** Calls the gate counts (isGatedSyscall). */
export function gatedCalls(counts: Record<string, number>): number {
  let n = 0;
  for (const [key, calls] of Object.entries(counts)) if (isGatedSyscall(key)) n += calls;
  return n;
}

/**
 * The count that stands for a sequence run several times: the least. What moves a count between
 * runs of one build is work added on top — a collection or a recompilation that one run needed and
 * the next did not, event-loop turns on a loaded machine — never work taken away, so the least is
 * the closest to the work the requests need. (Seen here: single runs 1.4–2 % above their twins,
 * while most runs agree within 0.3 %.) Throws RangeError for no values.
 */
export function leastOfRepeats(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('leastOfRepeats needs at least one count');
  return Math.min(...values);
}

/**
 * Per-request counts by the difference method. `totals`: one run's count per sequence. Throws
 * RangeError when a long run counted less than the base run (the runs were not the same server).
 */
export function perRequestByDifference(totals: Record<CostSequenceName, number>, spec: Pick<CostSequenceSpec, 'shortRequests' | 'longRequests'>): Record<CostOperation, number> {
  const extra = spec.longRequests - spec.shortRequests;
  if (!(extra > 0)) throw new RangeError(`longRequests (${spec.longRequests}) must exceed shortRequests (${spec.shortRequests})`);
  const out = {} as Record<CostOperation, number>;
  for (const op of COST_OPERATIONS) out[op] = (totals[op] - totals.base) / extra;
  return out;
}

/** Per-request calls of each system call name, per operation; names that did not move are left out. */
export function syscallsByName(counts: Record<CostSequenceName, Record<string, number>>, spec: Pick<CostSequenceSpec, 'shortRequests' | 'longRequests'>): Record<CostOperation, Record<string, number>> {
  const extra = spec.longRequests - spec.shortRequests;
  const out = {} as Record<CostOperation, Record<string, number>>;
  for (const op of COST_OPERATIONS) {
    const names = new Set([...Object.keys(counts.base), ...Object.keys(counts[op])]);
    const byName: Record<string, number> = {};
    for (const name of [...names].sort()) {
      const d = ((counts[op][name] ?? 0) - (counts.base[name] ?? 0)) / extra;
      if (d !== 0) byName[name] = d;
    }
    out[op] = byName;
  }
  return out;
}

/** The metric's figures from per-sequence totals (and, for syscalls, the per-name tables). */
export function metricCosts(tool: string, totals: Record<CostSequenceName, number>, spec: CostSequenceSpec, names?: Record<CostSequenceName, Record<string, number>>): MetricCosts {
  const m: MetricCosts = { tool, totals, perRequest: perRequestByDifference(totals, spec) };
  if (names !== undefined) m.byName = syscallsByName(names, spec);
  return m;
}

export type CostVerdict = 'regression' | 'improvement' | 'unchanged';

export interface CostChange {
  operation: CostOperation;
  metric: CostMetric;
  baseline: number;
  candidate: number;
  /** candidate / baseline − 1. */
  change: number;
  threshold: number;
  verdict: CostVerdict;
  /** syscalls: the names whose per-request count moved by ≥ 0.01 (candidate − baseline), largest first. */
  movedNames?: { name: string; baseline: number; candidate: number }[];
}

export interface CostComparison {
  /** Metrics measured on both sides: these are judged. */
  judged: CostMetric[];
  /** Metrics that could not be judged, and why (a tool missing on one side, different sequences). */
  unjudged: { metric: CostMetric; why: string }[];
  changes: CostChange[];
  regressions: number;
  improvements: number;
  thresholds: Record<CostMetric, number>;
  /** Notes that do not stop the judgement (a different node version on each side). */
  notes: string[];
}

/**
 * 2 % by default: in the calibration of 2026-11-30 (docs/reports.md) A/A counts moved by up to
 * +1.43 % (one of 20 comparisons failed at 1 %, none at 1.5 % or 2 %), and a build with a little
 * extra work per command (+2.1–7.9 % per operation) failed all 20 comparisons at 2 %.
 */
export const DEFAULT_COST_THRESHOLDS: Record<CostMetric, number> = { instructions: 0.02, syscalls: 0.02 };

function sameSequence(a: CostSequenceSpec, b: CostSequenceSpec): boolean {
  return (Object.keys(a) as (keyof CostSequenceSpec)[]).every((k) => a[k] === b[k]) && Object.keys(a).length === Object.keys(b).length;
}

/**
 * Judges the candidate's per-request counts against the baseline's. Counts do not vary from run to
 * run, so there is no test of significance: a change beyond the threshold is the verdict.
 */
export function compareCosts(baseline: CostProfile, candidate: CostProfile, thresholds: Record<CostMetric, number> = DEFAULT_COST_THRESHOLDS): CostComparison {
  const judged: CostMetric[] = [];
  const unjudged: CostComparison['unjudged'] = [];
  const changes: CostChange[] = [];
  const notes: string[] = [];
  const comparable = sameSequence(baseline.sequence, candidate.sequence);
  if (baseline.node !== candidate.node) notes.push(`the sides ran on different node versions (baseline ${baseline.node}, candidate ${candidate.node}): V8's own changes count as the server's`);
  for (const metric of COST_METRICS) {
    const b = baseline[metric];
    const c = candidate[metric];
    if (b === null || c === null) {
      const side = b === null && c === null ? 'either side' : b === null ? 'the baseline' : 'the candidate';
      const why = (b === null ? baseline.missing[metric] : undefined) ?? (c === null ? candidate.missing[metric] : undefined) ?? 'not measured';
      unjudged.push({ metric, why: `not measured on ${side}: ${why}` });
      continue;
    }
    if (!comparable) {
      unjudged.push({ metric, why: `the sides ran different sequences (baseline ${JSON.stringify(baseline.sequence)}, candidate ${JSON.stringify(candidate.sequence)}): measure both with the same flags` });
      continue;
    }
    judged.push(metric);
    for (const operation of COST_OPERATIONS) {
      const bv = b.perRequest[operation];
      const cv = c.perRequest[operation];
      const change = relativeChange(bv, cv);
      const threshold = thresholds[metric];
      const verdict: CostVerdict = change > threshold ? 'regression' : change < -threshold ? 'improvement' : 'unchanged';
      const entry: CostChange = { operation, metric, baseline: bv, candidate: cv, change, threshold, verdict };
      if (metric === 'syscalls' && b.byName && c.byName) entry.movedNames = movedNames(gatedOnly(b.byName[operation]), gatedOnly(c.byName[operation]));
      changes.push(entry);
    }
  }
  return {
    judged,
    unjudged,
    changes,
    regressions: changes.filter((c) => c.verdict === 'regression').length,
    improvements: changes.filter((c) => c.verdict === 'improvement').length,
    thresholds,
    notes,
  };
}

/** The gated entries of a per-name table: the ungated ones move on their own and would only confuse. */
function gatedOnly(byName: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(byName).filter(([key]) => isGatedSyscall(key)));
}

/** System calls whose per-request count differs by ≥ 0.01 between the sides, largest move first. */
export function movedNames(baseline: Record<string, number>, candidate: Record<string, number>): { name: string; baseline: number; candidate: number }[] {
  const names = new Set([...Object.keys(baseline), ...Object.keys(candidate)]);
  return [...names]
    .map((name) => ({ name, baseline: baseline[name] ?? 0, candidate: candidate[name] ?? 0 }))
    .filter((m) => Math.abs(m.candidate - m.baseline) >= 0.01)
    .sort((x, y) => Math.abs(y.candidate - y.baseline) - Math.abs(x.candidate - x.baseline) || x.name.localeCompare(y.name));
}

/** Checks a parsed costs.json; returns the problem in words, or null when it is a CostProfile. */
export function costProfileProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (v['format'] !== COSTS_FORMAT) return `format is ${JSON.stringify(v['format'])}, expected "${COSTS_FORMAT}"`;
  const seq = v['sequence'] as Record<string, unknown> | undefined;
  if (typeof seq !== 'object' || seq === null || typeof seq['longRequests'] !== 'number' || typeof seq['shortRequests'] !== 'number') return 'sequence is missing or incomplete';
  for (const metric of COST_METRICS) {
    const m = v[metric] as Record<string, unknown> | null | undefined;
    if (m === null) continue;
    if (typeof m !== 'object' || m === undefined) return `${metric} is neither null nor an object`;
    const per = m['perRequest'] as Record<string, unknown> | undefined;
    if (typeof per !== 'object' || per === null || COST_OPERATIONS.some((op) => typeof per[op] !== 'number')) return `${metric}.perRequest needs a number for each of ${COST_OPERATIONS.join(', ')}`;
    const totals = m['totals'] as Record<string, unknown> | undefined;
    if (typeof totals !== 'object' || totals === null || COST_SEQUENCES.some((s) => typeof totals[s] !== 'number')) return `${metric}.totals needs a number for each of ${COST_SEQUENCES.join(', ')}`;
  }
  if (typeof v['node'] !== 'string' || typeof v['server'] !== 'string') return 'node or server is missing';
  return null;
}
