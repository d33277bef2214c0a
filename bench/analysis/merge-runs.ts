import { encodeHistogram, mergeEncoded, summarize } from '../histogram.js';
import { computeSlo } from './slo.js';
import {
  emptyErrors,
  totalErrors,
  type ClientBoundVerdict,
  type ErrorCounts,
  type GeneratorsRecord,
  type IntervalPoint,
  type LatencySummary,
  type MachineInfo,
  type Operation,
  type OperationStats,
  type RunResult,
  type ServerStats,
  type StepResult,
} from '../results.js';
import { MergeMismatchError } from '../errors.js';
import { stepKey, stepLabel } from './step-groups.js';
import { clockOffsets, labelOfParts, mergeStarts, orderParts, partSummaries, type OrderedParts } from './merge-parts.js';

// Several load machines aimed at the same --servers each write their own results.json; merging
// them gives the numbers of the whole load. Pure: RunResults in, one RunResult out.
//
// What is exact: request and error counts, throughput (the machines ran at the same time, so
// their ops/s add up), and every latency percentile of a step or operation — HdrHistograms add
// bucket by bucket without loss, and the summaries are recomputed from the sum.
// What is a bound: per-server latency percentiles and the timeline's per-second p50/p99 are only
// stored as summaries, and the percentile of a union lies between the parts' percentiles, so the
// merged value is the largest of them (an upper bound; mean, min, max and counts stay exact).

export interface MergeOutcome {
  result: RunResult;
  warnings: string[];
}

function addErrors(into: ErrorCounts, e: ErrorCounts): void {
  into.timeout += e.timeout;
  into.connection += e.connection;
  into.errorReply += e.errorReply;
  into.wrongValue += e.wrongValue;
}

function sumErrors(list: readonly ErrorCounts[]): ErrorCounts {
  const e = emptyErrors();
  for (const x of list) addErrors(e, x);
  return e;
}

/** Exact: histograms added, summary recomputed. */
function mergeOperation(parts: readonly OperationStats[]): OperationStats {
  const latency = mergeEncoded(parts.map((p) => p.latencyHistogram).filter((h) => h !== ''));
  const service = mergeEncoded(parts.map((p) => p.serviceTimeHistogram).filter((h) => h !== ''));
  return {
    requests: parts.reduce((a, p) => a + p.requests, 0),
    errors: sumErrors(parts.map((p) => p.errors)),
    misses: parts.reduce((a, p) => a + p.misses, 0),
    latency: summarize(latency),
    serviceTime: summarize(service),
    latencyHistogram: encodeHistogram(latency),
    serviceTimeHistogram: encodeHistogram(service),
  };
}

/**
 * Summaries without histograms: count, min, max and mean exact, stdev pooled exactly from the
 * parts' means and deviations, percentiles the largest of the parts' (an upper bound).
 */
export function mergeSummaries(parts: readonly LatencySummary[]): LatencySummary {
  const live = parts.filter((p) => p.count > 0);
  if (live.length === 0) return parts[0] ?? { count: 0, minUs: 0, meanUs: 0, stdevUs: 0, maxUs: 0, p50Us: 0, p75Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0 };
  const count = live.reduce((a, p) => a + p.count, 0);
  const meanUs = live.reduce((a, p) => a + p.meanUs * p.count, 0) / count;
  const secondMoment = live.reduce((a, p) => a + p.count * (p.stdevUs ** 2 + p.meanUs ** 2), 0) / count;
  const max = (f: (p: LatencySummary) => number): number => Math.max(...live.map(f));
  return {
    count,
    minUs: Math.min(...live.map((p) => p.minUs)),
    meanUs: Math.round(meanUs * 1000) / 1000,
    stdevUs: Math.round(Math.sqrt(Math.max(0, secondMoment - meanUs ** 2)) * 1000) / 1000,
    maxUs: max((p) => p.maxUs),
    p50Us: max((p) => p.p50Us),
    p75Us: max((p) => p.p75Us),
    p90Us: max((p) => p.p90Us),
    p99Us: max((p) => p.p99Us),
    p999Us: max((p) => p.p999Us),
    p9999Us: max((p) => p.p9999Us),
  };
}

function mergeServers(parts: readonly ServerStats[][], stepRequests: number): ServerStats[] {
  const order = parts[0]!.map((s) => s.server);
  return order.map((server) => {
    const mine = parts.map((list) => list.find((s) => s.server === server)!);
    const requests = mine.reduce((a, s) => a + s.requests, 0);
    return {
      server,
      requests,
      errors: sumErrors(mine.map((s) => s.errors)),
      latency: mergeSummaries(mine.map((s) => s.latency)),
      keyShare: stepRequests > 0 ? requests / stepRequests : 1 / order.length,
    };
  });
}

function mergeClient(parts: readonly ClientBoundVerdict[], machineNames: readonly string[], requests: readonly number[]): ClientBoundVerdict {
  const totalRequests = requests.reduce((a, b) => a + b, 0);
  const waits = parts.map((c) => c.maxRunQueueWaitFraction).filter((w): w is number => typeof w === 'number');
  const threads = parts.flatMap((c) => c.threads ?? []);
  return {
    clientBound: parts.some((c) => c.clientBound),
    causes: parts.flatMap((c, i) => c.causes.map((cause) => `${machineNames[i]}: ${cause}`)),
    sendLatenessP99Us: Math.max(...parts.map((c) => c.sendLatenessP99Us)),
    sendLatenessMaxUs: Math.max(...parts.map((c) => c.sendLatenessMaxUs)),
    maxEventLoopUtilization: Math.max(...parts.map((c) => c.maxEventLoopUtilization)),
    maxEventLoopDelayMs: Math.max(...parts.map((c) => c.maxEventLoopDelayMs)),
    cpuUsPerRequest: totalRequests > 0 ? parts.reduce((a, c, i) => a + c.cpuUsPerRequest * requests[i]!, 0) / totalRequests : 0,
    // One spinning generator makes the merged step's event-loop figure say nothing either.
    ...(parts.some((c) => c.pacing !== undefined) ? { pacing: parts.some((c) => c.pacing === 'spin') ? ('spin' as const) : ('sleep' as const) } : {}),
    ...(waits.length > 0 ? { maxRunQueueWaitFraction: Math.max(...waits) } : {}),
    ...(threads.length > 0 ? { threads } : {}),
  };
}

/** Largest of the parts' values, null when none knows it, absent when none has the field. */
function maxOf(values: readonly (number | null | undefined)[]): number | null | undefined {
  if (values.every((v) => v === undefined)) return undefined;
  const known = values.filter((v): v is number => typeof v === 'number');
  return known.length === 0 ? null : Math.max(...known);
}

function serverSet(step: StepResult): string {
  return step.servers
    .map((s) => s.server)
    .sort()
    .join(',');
}

function mergeStep(parts: readonly StepResult[], machineNames: readonly string[]): StepResult {
  const first = parts[0]!;
  const requests = parts.reduce((a, s) => a + s.requests, 0);
  const errors = sumErrors(parts.map((s) => s.errors));
  const ops = new Set(parts.flatMap((s) => Object.keys(s.operations) as Operation[]));
  const operations: Partial<Record<Operation, OperationStats>> = {};
  for (const op of ops) {
    const present = parts.map((s) => s.operations[op]).filter((o): o is OperationStats => o !== undefined);
    operations[op] = mergeOperation(present);
  }
  const targets = parts.map((s) => s.targetOpsPerSec);
  const stealFraction = maxOf(parts.map((s) => s.stealFraction));
  const otherCpuFraction = maxOf(parts.map((s) => s.otherCpuFraction));
  return {
    index: first.index,
    serverCount: first.serverCount,
    workload: first.workload,
    mode: first.mode,
    phase: first.phase,
    loadFraction: first.loadFraction,
    trial: first.trial,
    targetOpsPerSec: targets.every((t) => t === null) ? null : targets.reduce<number>((a, t) => a + (t ?? 0), 0),
    achievedOpsPerSec: parts.reduce((a, s) => a + s.achievedOpsPerSec, 0),
    durationSec: Math.max(...parts.map((s) => s.durationSec)),
    requests,
    errors,
    errorRate: requests > 0 ? totalErrors(errors) / requests : 0,
    total: mergeOperation(parts.map((s) => s.total)),
    operations,
    servers: mergeServers(
      parts.map((s) => s.servers),
      requests,
    ),
    ...(parts.some((s) => s.maxQueued !== undefined) ? { maxQueued: parts.reduce((a, s) => a + (s.maxQueued ?? 0), 0) } : {}),
    ...(stealFraction !== undefined ? { stealFraction } : {}),
    ...(otherCpuFraction !== undefined ? { otherCpuFraction } : {}),
    ...(parts.some((s) => s.partial === true) ? { partial: true } : {}),
    client: mergeClient(
      parts.map((s) => s.client),
      machineNames,
      parts.map((s) => s.requests),
    ),
  };
}

/** Per step, the i-th interval of every run added (ops/s and errors exact, p50/p99 upper bounds). */
function mergeIntervals(runs: readonly RunResult[]): IntervalPoint[] {
  const perRun = runs.map((r) => {
    const byStep = new Map<number, IntervalPoint[]>();
    for (const iv of [...r.intervals].sort((a, b) => a.tSec - b.tSec)) {
      const list = byStep.get(iv.stepIndex) ?? [];
      list.push(iv);
      byStep.set(iv.stepIndex, list);
    }
    return byStep;
  });
  const out: IntervalPoint[] = [];
  for (const [stepIndex, firstList] of perRun[0]!) {
    const lists = perRun.map((m) => m.get(stepIndex) ?? []);
    const length = Math.max(...lists.map((l) => l.length));
    for (let i = 0; i < length; i++) {
      const here = lists.map((l) => l[i]).filter((x): x is IntervalPoint => x !== undefined);
      out.push({
        tSec: firstList[i]?.tSec ?? here[0]!.tSec,
        stepIndex,
        opsPerSec: here.reduce((a, x) => a + x.opsPerSec, 0),
        errors: here.reduce((a, x) => a + x.errors, 0),
        p50Us: Math.max(...here.map((x) => x.p50Us)),
        p99Us: Math.max(...here.map((x) => x.p99Us)),
      });
    }
  }
  return out.sort((a, b) => a.tSec - b.tSec || a.stepIndex - b.stepIndex);
}

function mergeMachines(machines: readonly MachineInfo[]): MachineInfo {
  const unique = (f: (m: MachineInfo) => string): string => [...new Set(machines.map(f))].join(' + ');
  return {
    cpuModel: unique((m) => m.cpuModel),
    cores: machines.reduce((a, m) => a + m.cores, 0),
    memoryBytes: machines.reduce((a, m) => a + m.memoryBytes, 0),
    nodeVersion: unique((m) => m.nodeVersion),
    platform: unique((m) => m.platform),
    hostname: machines.map((m) => m.hostname).join(' + '),
  };
}

/**
 * Merges the runs of several load machines that measured the same plan against the same servers
 * at the same time. Throws MergeMismatchError when the steps or servers differ.
 */
export function mergeRuns(inputRuns: readonly RunResult[], names?: readonly string[]): MergeOutcome {
  const inputNames = names ?? inputRuns.map((r, i) => r.machine.hostname || `run ${i + 1}`);
  // Parts of a split run: checked to belong together and put in generator order first.
  const parts: OrderedParts | null = inputRuns.some((r) => r.generator !== undefined) ? orderParts(inputRuns, inputNames) : null;
  const runs = parts?.runs ?? inputRuns;
  const machineNames = parts?.names ?? inputNames;
  if (runs.length < 2) throw new MergeMismatchError(`merge needs at least two results.json files, got ${runs.length}`);
  const first = runs[0]!;
  const warnings: string[] = [];
  runs.forEach((r, i) => {
    if (r.steps.length !== first.steps.length) {
      throw new MergeMismatchError(
        `${machineNames[i]} has ${r.steps.length} steps, ${machineNames[0]} has ${first.steps.length} steps: merge runs of the same plan (same --workloads, --server_counts, --load_levels, --trials)`,
      );
    }
  });
  const steps: StepResult[] = first.steps.map((step, idx) => {
    const parts = runs.map((r) => r.steps[idx]!);
    parts.forEach((p, i) => {
      if (stepKey(p) !== stepKey(step) || p.trial !== step.trial) {
        throw new MergeMismatchError(`step ${idx} differs: ${machineNames[0]} measured "${stepLabel(step)}" (trial ${step.trial}), ${machineNames[i]} "${stepLabel(p)}" (trial ${p.trial}); merge runs of the same plan`);
      }
      if (serverSet(p) !== serverSet(step)) {
        throw new MergeMismatchError(`step ${idx} ("${stepLabel(step)}") was aimed at different servers: ${machineNames[0]} ${serverSet(step)}, ${machineNames[i]} ${serverSet(p)}; give every load machine the same --servers`);
      }
    });
    return mergeStep(parts, machineNames);
  });
  const split = parts === null ? null : splitRunStarts(parts, steps, warnings);

  const spans = runs.map((r) => [Date.parse(r.startedAt), Date.parse(r.finishedAt)] as const);
  const latestStart = Math.max(...spans.map((s) => s[0]));
  const earliestEnd = Math.min(...spans.map((s) => s[1]));
  if (latestStart > earliestEnd) {
    warnings.push('the runs did not overlap in time: merging adds their throughputs as if they ran together; start the load machines at the same moment');
  }
  const labels = [...new Set(runs.map((r) => r.label))];
  const maxErrorRate = typeof first.config['maxErrorRate'] === 'number' ? first.config['maxErrorRate'] : 0.01;
  const { generator: _part, ...firstWithoutPart } = first;
  const runLabels = split === null ? labels : [...new Set(labels.map(labelOfParts))];
  const result: RunResult = {
    ...firstWithoutPart,
    label: runLabels.length === 1 ? `${runLabels[0]}-merged` : runLabels.join('+'),
    startedAt: new Date(Math.min(...spans.map((s) => s[0]))).toISOString(),
    finishedAt: new Date(Math.max(...spans.map((s) => s[1]))).toISOString(),
    machine: mergeMachines(runs.map((r) => r.machine)),
    servers: [...new Set(runs.flatMap((r) => r.servers))],
    config: {
      ...first.config,
      // A split run's parts together are one run of G·T workers: its charts say so.
      ...(split === null ? {} : { numThreads: split.count * parts!.records[0]!.threads }),
      mergedFrom: runs.map((r, i) => ({ machine: machineNames[i], label: r.label, startedAt: r.startedAt, gitCommit: r.gitCommit })),
    },
    steps,
    intervals: mergeIntervals(runs),
    slo: first.slo ? computeSlo(steps, { objective: first.slo.objective, percentile: first.slo.percentile, boundUs: first.slo.boundUs }, maxErrorRate) : null,
    events: runs
      .flatMap((r, i) => r.events.map((e) => ({ ...e, detail: `${machineNames[i]}: ${e.detail}` })))
      .sort((a, b) => a.tSec - b.tSec),
    interrupted: runs.some((r) => r.interrupted),
    ...(split === null ? {} : { generators: split }),
  };
  return { result, warnings };
}

/**
 * The steps of a split run after adding up: each step's start across the generators (clock
 * offsets taken out) and, where they started further apart than the parts' --max_start_skew_ms,
 * client_bound — their loads did not overlap for that long, so the step's sum is not one load.
 */
function splitRunStarts(parts: OrderedParts, steps: StepResult[], warnings: string[]): GeneratorsRecord {
  const offsets = clockOffsets(parts.records);
  const toleranceMs = typeof parts.runs[0]!.config['maxStartSkewMs'] === 'number' ? (parts.runs[0]!.config['maxStartSkewMs'] as number) : 5;
  const unknown = parts.records.filter((_, i) => offsets.offsetsMs[i] === null).map((r) => r.index);
  if (unknown.length > 0 && parts.records.length > 1) {
    warnings.push(`the clocks of generator(s) ${unknown.join(', ')} were not compared with the others (started after the common start): their start skew assumes their clocks were right`);
  }
  offsets.offsetsMs.forEach((o, i) => {
    if (o !== null && Math.abs(o) > toleranceMs) {
      warnings.push(`generator ${parts.records[i]!.index}'s clock is ${o.toFixed(1)} ms off generator ${offsets.reference}'s (> ${toleranceMs} ms): its steps' start skew is corrected for it, but check NTP on that machine`);
    }
  });
  let worst = 0;
  steps.forEach((step, idx) => {
    const start = mergeStarts(
      parts.runs.map((r) => r.steps[idx]!.start),
      offsets.offsetsMs,
    );
    if (start === undefined) return;
    step.start = start;
    worst = Math.max(worst, start.skewMs ?? 0);
    if ((start.skewMs ?? 0) > toleranceMs) {
      step.client = {
        ...step.client,
        clientBound: true,
        causes: [...step.client.causes, `generators started ${start.skewMs!.toFixed(1)} ms apart (> --max_start_skew_ms ${toleranceMs}): their loads did not fully overlap`],
      };
    }
  });
  const g = parts.records[0]!;
  return {
    count: g.count,
    planId: g.planId,
    startAt: g.startAt,
    maxStartSkewMs: toleranceMs,
    worstStartSkewMs: Math.round(worst * 1000) / 1000,
    clockReference: offsets.reference,
    parts: partSummaries(parts, offsets),
  };
}
