import type { Operation, OperationStats, RunResult, StepResult } from '../results.js';
import { mergeEncoded, percentileUs } from '../histogram.js';
import { median } from '../analysis/statistics.js';
import { groupSteps, serversLabel, type StepGroup } from '../analysis/step-groups.js';

// What each chart shows, computed from a RunResult: plain numbers in display units (ms, ops/s),
// no drawing. charts.ts turns these into pictures; tests check these numbers directly.
//
// Trials (--trials) of the same step are combined: throughput and percentiles are the median over
// trials (what compare tests), the percentile curves come from the trials' histograms added
// together (exact).
// ~440 lines: one small function per chart, kept together because they share the trial-combining
// and client_bound rules above, which must agree between charts.

/** Chart order: reads before writes. */
export const OPERATION_ORDER: readonly Operation[] = ['get', 'put', 'delete'];

/** One load level of one server count and workload, as plotted. */
export interface LevelPoint {
  serverCount: number;
  workload: string;
  phase: StepResult['phase'];
  loadFraction: number | null;
  /** Median over trials of the step's achieved throughput (all operations), ops/s. */
  opsPerSec: number;
  /** Median over trials of the offered rate, ops/s; null for closed-loop steps. */
  offeredOpsPerSec: number | null;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Some trial of this step was flagged client-bound: its latency describes the load generator. */
  clientBound: boolean;
  /** Some trial of this step was cut short by an interrupt: not a whole step. */
  partial: boolean;
  /** Index of the first trial's step, to cross-reference the summary table. */
  stepIndex: number;
  trials: number;
}

export interface LatencySeries {
  serverCount: number;
  workload: string;
  /** Open-loop levels in order of offered load. */
  points: LevelPoint[];
}

export interface LatencyThroughputData {
  op: Operation;
  title: string;
  subtitle: string;
  series: LatencySeries[];
  /** Closed-loop saturation throughput per server count and workload (vertical markers); clientBound: the generator's limit. */
  maxima: { serverCount: number; workload: string; opsPerSec: number; clientBound: boolean }[];
  /** The --slo objective and, per series, the highest throughput meeting it. */
  slo: { label: string; boundMs: number; points: { serverCount: number; workload: string; opsPerSec: number; latencyMs: number }[] } | null;
}

/** Orders points by offered load (fraction, else target rate), achieved throughput as the tie-break. */
export function byOfferedLoad(a: LevelPoint, b: LevelPoint): number {
  const la = a.loadFraction ?? a.offeredOpsPerSec ?? a.opsPerSec;
  const lb = b.loadFraction ?? b.offeredOpsPerSec ?? b.opsPerSec;
  return la - lb || a.opsPerSec - b.opsPerSec;
}

/** Operations that have latency data in this run, in a fixed order. */
export function operationsIn(result: RunResult): Operation[] {
  return OPERATION_ORDER.filter((op) => result.steps.some((s) => (s.operations[op]?.latency.count ?? 0) > 0));
}

/** Distinct server counts in the run, ascending. */
export function serverCountsIn(result: RunResult): number[] {
  return [...new Set(result.steps.map((s) => s.serverCount))].sort((a, b) => a - b);
}

function statsOf(step: StepResult, op: Operation | 'total'): OperationStats | undefined {
  return op === 'total' ? step.total : step.operations[op];
}

/** The plotted point of a group for one operation, or null when the operation did not run in it. */
export function levelPoint(group: StepGroup, op: Operation | 'total'): LevelPoint | null {
  const withOp = group.steps.filter((s) => (statsOf(s, op)?.latency.count ?? 0) > 0);
  if (withOp.length === 0) return null;
  const lat = (f: (s: OperationStats) => number): number => median(withOp.map((s) => f(statsOf(s, op)!))) / 1000;
  return {
    serverCount: group.serverCount,
    workload: group.workload,
    phase: group.phase,
    loadFraction: group.loadFraction,
    opsPerSec: median(withOp.map((s) => s.achievedOpsPerSec)),
    offeredOpsPerSec: withOp[0]!.targetOpsPerSec === null ? null : median(withOp.map((s) => s.targetOpsPerSec ?? 0)),
    p50Ms: lat((s) => s.latency.p50Us),
    p99Ms: lat((s) => s.latency.p99Us),
    p999Ms: lat((s) => s.latency.p999Us),
    clientBound: withOp.some((s) => s.client.clientBound),
    partial: withOp.some((s) => s.partial === true),
    stepIndex: withOp[0]!.index,
    trials: withOp.length,
  };
}

const OP_TITLES: Record<Operation, string> = { get: 'GET', put: 'PUT (SET)', delete: 'DELETE' };

/** One line describing what was measured and how: the subtitle of every chart. */
export function describeRun(result: RunResult): string {
  const counts = serverCountsIn(result);
  const trials = new Set(result.steps.map((s) => s.trial)).size;
  const parts = [
    `${result.target}${result.label ? ` "${result.label}"` : ''}`,
    `${counts.join('/')} server${counts.length === 1 && counts[0] === 1 ? '' : 's'}`,
    [...new Set(result.steps.map((s) => s.workload))].join(', '),
    ...describeConfig(result.config),
  ];
  if (trials > 1) parts.push(`${trials} trials (medians)`);
  parts.push(`${result.machine.cores} cores`, result.startedAt.slice(0, 16).replace('T', ' '));
  return parts.join(' · ');
}

/** The settings worth a place in a subtitle, from the harness's config block, in words. */
export function describeConfig(config: Record<string, unknown>): string[] {
  const num = (k: string): number | null => (typeof config[k] === 'number' ? config[k] : null);
  const str = (k: string): string | null => (typeof config[k] === 'string' && config[k] !== '' ? config[k] : null);
  const out: string[] = [];
  const preset = str('preset');
  if (preset) out.push(`preset ${preset}`);
  const mode = str('mode');
  if (mode) out.push(`${mode} loop`);
  const threads = num('numThreads');
  if (threads !== null) out.push(`${threads} thread${threads === 1 ? '' : 's'}`);
  const connections = num('connections');
  if (connections !== null) out.push(`${connections} conn/server/thread`);
  const pipeline = num('pipeline');
  if (pipeline !== null && pipeline > 1) out.push(`pipeline ${pipeline}`);
  const vMin = num('valueSizeMin');
  const vMax = num('valueSizeMax');
  if (vMin !== null) out.push(vMax !== null && vMax !== vMin ? `${vMin}–${vMax} B values` : `${vMin} B values`);
  const keys = num('keySpace');
  if (keys !== null) out.push(`${formatOps(keys)} keys${str('keyDist') && str('keyDist') !== 'uniform' ? ` (${str('keyDist')})` : ''}`);
  const step = num('stepDurationSec');
  if (step !== null) out.push(`${step} s steps`);
  return out;
}

export function latencyThroughputData(result: RunResult, op: Operation): LatencyThroughputData {
  const points = groupSteps(result.steps).flatMap((g) => levelPoint(g, op) ?? []);
  const maxima = points.filter((p) => p.phase === 'max').map((p) => ({ serverCount: p.serverCount, workload: p.workload, opsPerSec: p.opsPerSec, clientBound: p.clientBound }));
  const levels = points.filter((p) => p.phase !== 'max');
  const series = new Map<string, LatencySeries>();
  // A closed-loop-only run has no load levels: plot its saturation points as the curve instead.
  for (const p of levels.length > 0 ? levels : points) {
    const key = `${p.serverCount}|${p.workload}`;
    let s = series.get(key);
    if (!s) {
      s = { serverCount: p.serverCount, workload: p.workload, points: [] };
      series.set(key, s);
    }
    s.points.push(p);
  }
  const sortedSeries = [...series.values()].sort((a, b) => a.serverCount - b.serverCount || a.workload.localeCompare(b.workload));
  // In order of offered load, not of achieved throughput: past saturation the achieved rate falls
  // while latency climbs, and the line then bends back — the overload made visible, instead of a
  // zig-zag between neighbouring levels.
  for (const s of sortedSeries) s.points.sort(byOfferedLoad);

  let slo: LatencyThroughputData['slo'] = null;
  if (result.slo) {
    const points: NonNullable<LatencyThroughputData['slo']>['points'] = [];
    for (const sp of result.slo.points) {
      if (sp.maxOpsPerSec === null || sp.stepIndex === null) continue;
      const step = result.steps.find((s) => s.index === sp.stepIndex);
      const stats = step?.operations[op];
      if (!step || !stats) continue;
      // The harness judged the SLO on the step's total; this chart shows one operation of it.
      const latencyUs = pickPercentile(stats, result.slo.percentile);
      points.push({ serverCount: sp.serverCount, workload: sp.workload, opsPerSec: sp.maxOpsPerSec, latencyMs: latencyUs / 1000 });
    }
    slo = { label: `SLO ${result.slo.objective}`, boundMs: result.slo.boundUs / 1000, points };
  }
  return {
    op,
    title: `${OP_TITLES[op]} latency vs throughput`,
    subtitle: describeRun(result),
    series: sortedSeries,
    maxima,
    slo,
  };
}

/** The summary percentile closest to `percentile` (50, 75, 90, 99, 99.9, 99.99), µs. */
function pickPercentile(stats: OperationStats, percentile: number): number {
  const table: [number, number][] = [
    [50, stats.latency.p50Us],
    [75, stats.latency.p75Us],
    [90, stats.latency.p90Us],
    [99, stats.latency.p99Us],
    [99.9, stats.latency.p999Us],
    [99.99, stats.latency.p9999Us],
  ];
  return table.reduce((best, row) => (Math.abs(row[0] - percentile) < Math.abs(best[0] - percentile) ? row : best))[1];
}

export interface PercentileCurve {
  label: string;
  loadFraction: number | null;
  opsPerSec: number;
  clientBound: boolean;
  /** x = 1 / (1 - p) for percentile p (50% → 2, 99% → 100), y = latency in ms. */
  points: { x: number; percentile: number; latencyMs: number }[];
}

export interface PercentileData {
  op: Operation;
  title: string;
  subtitle: string;
  serverCount: number;
  workload: string;
  curves: PercentileCurve[];
}

/**
 * Percentiles from 0% to the highest one the sample size supports (1 - 1/count), evenly spaced on
 * the 1/(1-p) log axis, 10 points per decade.
 */
export function percentileGrid(count: number): number[] {
  const decades = Math.max(0.301, Math.log10(Math.max(2, count)));
  const grid: number[] = [0];
  for (let k = 1; k <= Math.round(decades * 10); k++) grid.push(100 * (1 - 10 ** (-k / 10)));
  return grid;
}

export function percentileData(result: RunResult, op: Operation): PercentileData | null {
  const groups = groupSteps(result.steps).filter((g) => g.steps.some((s) => (s.operations[op]?.latency.count ?? 0) > 0));
  if (groups.length === 0) return null;
  const largest = Math.max(...groups.map((g) => g.serverCount));
  // One workload only, so the lines are load levels and nothing else: the workload named after the
  // operation when there is one (the 'get' run for the GET chart), else the first that has it.
  const workloads = [...new Set(groups.filter((g) => g.serverCount === largest).map((g) => g.workload))];
  const workload = workloads.includes(op) ? op : workloads[0]!;
  const ofLargest = groups.filter((g) => g.serverCount === largest && g.workload === workload);
  // One line per open-loop load level; a closed-loop-only run shows its saturation steps instead.
  const levels = ofLargest.some((g) => g.phase === 'level') ? ofLargest.filter((g) => g.phase === 'level') : ofLargest;
  const curves: PercentileCurve[] = [];
  for (const g of levels) {
    const p = levelPoint(g, op)!;
    const encoded = g.steps.map((s) => s.operations[op]?.latencyHistogram ?? '').filter((e) => e.length > 0);
    const points: PercentileCurve['points'] = [];
    if (encoded.length > 0) {
      const h = mergeEncoded(encoded);
      for (const pct of percentileGrid(h.totalCount)) {
        points.push({ x: 1 / (1 - pct / 100), percentile: pct, latencyMs: percentileUs(h, pct) / 1000 });
      }
    } else {
      // No histogram stored: fall back to the summary percentiles of the first trial.
      const l = g.steps[0]!.operations[op]!.latency;
      for (const [pct, us] of [[0, l.minUs], [50, l.p50Us], [75, l.p75Us], [90, l.p90Us], [99, l.p99Us], [99.9, l.p999Us], [99.99, l.p9999Us]] as const) {
        if (pct < 100 * (1 - 1 / Math.max(2, l.count)) || pct === 0) points.push({ x: 1 / (1 - pct / 100), percentile: pct, latencyMs: us / 1000 });
      }
    }
    const level = g.phase === 'max' ? 'max (closed loop)' : g.loadFraction !== null ? `${Math.round(g.loadFraction * 100)}%` : `${g.targetOpsPerSec ?? 'unpaced'} ops/s`;
    curves.push({
      label: `${level} · ${formatOps(p.opsPerSec)} ops/s${p.clientBound ? ' (client-bound)' : ''}`,
      loadFraction: g.loadFraction,
      opsPerSec: p.opsPerSec,
      clientBound: p.clientBound,
      points,
    });
  }
  curves.sort((a, b) => (a.loadFraction ?? a.opsPerSec) - (b.loadFraction ?? b.opsPerSec) || a.opsPerSec - b.opsPerSec);
  return {
    op,
    title: `${OP_TITLES[op]} latency by percentile, ${serversLabel(largest)}, per load level${workload === op ? '' : ` (${workload})`}`,
    subtitle: describeRun(result),
    serverCount: largest,
    workload,
    curves,
  };
}

export interface ScalingData {
  title: string;
  subtitle: string;
  serverCounts: number[];
  /** One line per workload: maximum throughput per server count. */
  lines: { workload: string; points: { serverCount: number; opsPerSec: number; clientBound: boolean; fromClosedLoop: boolean }[] }[];
  /**
   * The largest server count at which every server and generator thread had a core of its own
   * (results.json placement): the ideal line stops there. null: not recorded (older files).
   */
  ownCoresUpToServers: number | null;
  /** Why the throughput beyond that count measures the machine, not scaling; null when it does not. */
  placementNote: string | null;
}

/**
 * Maximum throughput per server count and workload: the closed-loop saturation step when there
 * is one (median over trials), otherwise the highest throughput any step achieved.
 */
export function scalingData(result: RunResult): ScalingData {
  const groups = groupSteps(result.steps);
  const workloads = [...new Set(groups.map((g) => g.workload))];
  const serverCounts = serverCountsIn(result);
  const lines: ScalingData['lines'] = [];
  for (const workload of workloads) {
    const points: ScalingData['lines'][number]['points'] = [];
    for (const n of serverCounts) {
      const mine = groups.filter((g) => g.workload === workload && g.serverCount === n);
      if (mine.length === 0) continue;
      const maxGroup = mine.find((g) => g.phase === 'max');
      const best = (maxGroup ? [maxGroup] : mine)
        .map((g) => ({ g, ops: median(g.steps.map((s) => s.achievedOpsPerSec)) }))
        .reduce((a, b) => (b.ops > a.ops ? b : a));
      points.push({ serverCount: n, opsPerSec: best.ops, clientBound: best.g.steps.some((s) => s.client.clientBound), fromClosedLoop: maxGroup !== undefined });
    }
    lines.push({ workload, points });
  }
  const placement = result.placement;
  const own = placement === undefined ? null : placement.ownCoresUpToServers;
  const shared = own !== null && own < Math.max(...serverCounts);
  return {
    title: 'Maximum throughput vs number of servers',
    subtitle: describeRun(result),
    serverCounts,
    lines,
    ownCoresUpToServers: own,
    placementNote: shared ? `servers and generator share ${placement!.usableCores} core${placement!.usableCores === 1 ? '' : 's'}${own! > 0 ? ` beyond ${own} server${own === 1 ? '' : 's'}` : ''}: throughput there measures this machine, not scaling` : null,
  };
}

export interface TimelinePoint {
  /** End of the interval, seconds since the run started. */
  tSec: number;
  opsPerSec: number;
  p99Ms: number | null;
  errors: number;
  serverCount: number;
  /**
   * Time passed unmeasured before this interval (a preload, the pause between steps): the lines
   * break here instead of drawing a straight line across time nothing was measured in.
   */
  afterGap: boolean;
}

export interface TimelineData {
  title: string;
  subtitle: string;
  /** --interval_ms of the run: what one point covers. */
  intervalMs: number;
  points: TimelinePoint[];
  /** Each step's stretch of time, for background bands; gaps where the lines break stay unshaded. */
  bands: { fromSec: number; toSec: number; serverCount: number; label: string }[];
  events: RunResult['events'];
  totalErrors: number;
}

/** The interval length in words: "second", "500 ms", "2 s" ("per …" in titles). */
export function intervalWords(intervalMs: number): string {
  if (intervalMs === 1000) return 'second';
  return intervalMs < 1000 || intervalMs % 1000 !== 0 ? `${intervalMs} ms` : `${intervalMs / 1000} s`;
}

/**
 * A pause longer than this share of an interval between one step's last point and the next step's
 * start breaks the lines: shorter ones (setting up the next step, ~0.1 s) are part of how a run
 * flows, longer ones are time the run spent on something else.
 */
export const TIMELINE_GAP_FRACTION = 0.5;

export function timelineData(result: RunResult): TimelineData {
  const byIndex = new Map(result.steps.map((s) => [s.index, s]));
  const intervals = [...result.intervals].sort((a, b) => a.tSec - b.tSec);
  const configured = result.config['intervalMs'];
  // Files from before --interval_ms was recorded used one second.
  const intervalMs = typeof configured === 'number' && configured > 0 ? configured : 1000;
  // A step starts its duration before its last interval ends (results.json has no start time).
  const lastEnd = new Map<number, number>();
  for (const iv of intervals) lastEnd.set(iv.stepIndex, iv.tSec);
  const preloadsAt = result.events.filter((e) => e.kind === 'preload').map((e) => e.tSec);

  const points: TimelinePoint[] = [];
  const bands: TimelineData['bands'] = [];
  let prevEnd: number | null = null;
  for (const iv of intervals) {
    const step = byIndex.get(iv.stepIndex);
    const last = bands[bands.length - 1];
    const newStep = !last || last.label !== String(iv.stepIndex);
    let afterGap = false;
    if (newStep) {
      const duration = step?.durationSec ?? intervalMs / 1000;
      const start = Math.max(prevEnd ?? 0, Math.min(iv.tSec, lastEnd.get(iv.stepIndex)! - duration));
      if (prevEnd !== null) {
        const preloaded = preloadsAt.some((t) => t > prevEnd! && t <= iv.tSec);
        afterGap = preloaded || start - prevEnd > TIMELINE_GAP_FRACTION * (intervalMs / 1000);
      }
      // A short pause joins the band before it: white is only where the lines break too.
      bands.push({ fromSec: afterGap || prevEnd === null ? start : prevEnd, toSec: iv.tSec, serverCount: step?.serverCount ?? 0, label: String(iv.stepIndex) });
    } else {
      last.toSec = iv.tSec;
    }
    points.push({
      tSec: iv.tSec,
      opsPerSec: iv.opsPerSec,
      // An interval without completed requests has no latency: leave a gap, not a zero on a log axis.
      p99Ms: iv.p99Us > 0 ? iv.p99Us / 1000 : null,
      errors: iv.errors,
      serverCount: step?.serverCount ?? 0,
      afterGap,
    });
    prevEnd = iv.tSec;
  }
  return {
    title: `Throughput and p99 latency per ${intervalWords(intervalMs)}, whole run`,
    subtitle: describeRun(result),
    intervalMs,
    points,
    bands,
    events: result.events,
    totalErrors: intervals.reduce((a, iv) => a + iv.errors, 0),
  };
}

/** Milliseconds with 3 significant digits at most (0.123, 1.23, 12.3, 123): latency cells. */
export function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** Axis ticks: 5000 → "5k", 12500 → "12.5k", 2500000 → "2.5M" — round numbers without padding zeros. */
export function formatOpsTick(opsPerSec: number): string {
  const trim = (x: number): string => String(Number(x.toPrecision(3)));
  if (Math.abs(opsPerSec) >= 1e6) return `${trim(opsPerSec / 1e6)}M`;
  if (Math.abs(opsPerSec) >= 1e3) return `${trim(opsPerSec / 1e3)}k`;
  return trim(opsPerSec);
}

/** 12345 → "12.3k", 1234567 → "1.23M": compact throughput for labels. */
export function formatOps(opsPerSec: number): string {
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toPrecision(3)}M`;
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toPrecision(3)}k`;
  return String(Math.round(opsPerSec));
}
