// Merges the workers' reports of one step into its StepResult. Pure: worker reports in (with
// histogram snapshots), plain data out; histograms are merged with HdrHistogram's `add`, so
// percentiles are those of all requests together, never averages of per-worker percentiles.

import type { Histogram } from 'hdr-histogram-js';
import { judgeClientBound, type ClientBoundThresholds } from './client-bound.js';
import { addSnapshot, createHistogram, encodeHistogram, mergeSnapshots, percentileUs, summarize } from '../histogram.js';
import type { WorkerStepReport } from '../messages.js';
import type { PlannedStep } from './plan.js';
import { emptyErrors, ERROR_KINDS, OPERATIONS, totalErrors, type ErrorCounts, type OperationStats, type ServerStats, type StepResult, type ThreadHealth } from '../results.js';

function addErrors(into: ErrorCounts, from: ErrorCounts): void {
  for (const kind of ERROR_KINDS) into[kind] += from[kind];
}

function operationStats(requests: number, errors: ErrorCounts, misses: number, latency: Histogram, service: Histogram): OperationStats {
  return {
    requests,
    errors,
    misses,
    latency: summarize(latency),
    serviceTime: summarize(service),
    latencyHistogram: encodeHistogram(latency),
    serviceTimeHistogram: encodeHistogram(service),
  };
}

export interface StepContext {
  /** Position of the step in results.steps. */
  index: number;
  planned: PlannedStep;
  /** Server addresses in ring order (Ring.nodes): the order of each report's `servers`. */
  servers: readonly string[];
  targetOpsPerSec: number | null;
  /** CPU time of the bench process during the step, µs (process.cpuUsage: all threads). */
  cpuUs: number;
  /** CPU time of the step's servers (all their threads, from /proc), µs; null when unknown. */
  serverCpuUs: number | null;
  /** Share of the machine's CPU time the hypervisor gave to others during the step (0..1), null when unknown. */
  stealFraction: number | null;
  /** Share of the machine's CPU other processes took during the step (0..1), null when unknown. */
  otherCpuFraction: number | null;
  thresholds: ClientBoundThresholds;
}

/** Merged histograms of a step, kept by the caller for .hgrm files. */
export interface StepHistograms {
  latency: Partial<Record<string, Histogram>>;
  serviceTime: Partial<Record<string, Histogram>>;
}

export function mergeWorkerReports(ctx: StepContext, reports: readonly WorkerStepReport[]): { step: StepResult; histograms: StepHistograms } {
  const operations: StepResult['operations'] = {};
  const totalLatency = createHistogram();
  const totalService = createHistogram();
  const totalErr = emptyErrors();
  let requests = 0;
  let misses = 0;
  const histograms: StepHistograms = { latency: {}, serviceTime: {} };
  for (const op of OPERATIONS) {
    const parts = reports.map((r) => r.operations[op]).filter((x) => x !== undefined);
    if (parts.length === 0) continue;
    const latency = createHistogram();
    const service = createHistogram();
    const errors = emptyErrors();
    let opRequests = 0;
    let opMisses = 0;
    for (const p of parts) {
      addSnapshot(latency, p.latency);
      addSnapshot(service, p.serviceTime);
      addErrors(errors, p.errors);
      opRequests += p.requests;
      opMisses += p.misses;
    }
    operations[op] = operationStats(opRequests, errors, opMisses, latency, service);
    histograms.latency[op] = latency;
    histograms.serviceTime[op] = service;
    totalLatency.add(latency);
    totalService.add(service);
    addErrors(totalErr, errors);
    requests += opRequests;
    misses += opMisses;
  }
  histograms.latency.total = totalLatency;
  histograms.serviceTime.total = totalService;

  const keyTotal = reports.reduce((sum, r) => sum + r.servers.reduce((a, s) => a + s.keys, 0), 0);
  const servers: ServerStats[] = ctx.servers.map((server, s) => {
    const latency = createHistogram();
    const errors = emptyErrors();
    let serverRequests = 0;
    let keys = 0;
    for (const r of reports) {
      const part = r.servers[s];
      if (part === undefined) continue;
      addSnapshot(latency, part.latency);
      addErrors(errors, part.errors);
      serverRequests += part.requests;
      keys += part.keys;
    }
    return { server, requests: serverRequests, errors, latency: summarize(latency), keyShare: keyTotal === 0 ? 1 / ctx.servers.length : keys / keyTotal };
  });

  const durationSec = Math.max(...reports.map((r) => r.durationMs), 0.001) / 1000;
  const replies = reports.reduce((sum, r) => sum + r.replies, 0);
  const lateness = mergeSnapshots(reports.map((r) => r.sendLateness));
  const client = judgeClientBound(
    {
      mode: ctx.planned.mode,
      sendLatenessP99Us: percentileUs(lateness, 99),
      sendLatenessMaxUs: lateness.totalCount === 0 ? 0 : lateness.maxValue,
      maxEventLoopUtilization: Math.max(0, ...reports.map((r) => r.maxEventLoopUtilization)),
      maxEventLoopDelayMs: Math.max(0, ...reports.map((r) => r.maxEventLoopDelayMs)),
      cpuUsPerRequest: requests === 0 ? 0 : ctx.cpuUs / requests,
      planned: reports.reduce((sum, r) => sum + r.planned, 0),
      issued: reports.reduce((sum, r) => sum + r.issued, 0),
      aborted: reports.some((r) => r.aborted),
      spun: reports.some((r) => r.spun),
      threads: reports.map((r) => threadHealth(r)),
    },
    ctx.thresholds,
  );

  const step: StepResult = {
    index: ctx.index,
    serverCount: ctx.planned.serverCount,
    workload: ctx.planned.workload.name,
    mode: ctx.planned.mode,
    phase: ctx.planned.phase,
    loadFraction: ctx.planned.loadFraction,
    trial: ctx.planned.trial,
    targetOpsPerSec: ctx.targetOpsPerSec === null ? null : Math.round(ctx.targetOpsPerSec),
    achievedOpsPerSec: Math.round((replies / durationSec) * 10) / 10,
    durationSec: Math.round(durationSec * 1e6) / 1e6,
    requests,
    errors: totalErr,
    errorRate: requests === 0 ? 0 : totalErrors(totalErr) / requests,
    total: operationStats(requests, { ...totalErr }, misses, totalLatency, totalService),
    operations,
    servers,
    maxQueued: reports.reduce((sum, r) => sum + r.maxBacklog, 0),
    serverCpuUsPerRequest: ctx.serverCpuUs === null || requests === 0 ? null : Math.round((ctx.serverCpuUs / requests) * 1000) / 1000,
    stealFraction: ctx.stealFraction === null ? null : Math.round(ctx.stealFraction * 10_000) / 10_000,
    otherCpuFraction: ctx.otherCpuFraction === null ? null : Math.round(ctx.otherCpuFraction * 10_000) / 10_000,
    ...(reports.some((r) => r.aborted) ? { partial: true } : {}),
    client,
  };
  return { step, histograms };
}

/** One worker's share of a step, as the verdict and results.json show it. */
function threadHealth(r: WorkerStepReport): ThreadHealth {
  const durationMs = Math.max(r.durationMs, 0.001);
  const fraction = (ms: number | null): number | null => (ms === null ? null : Math.round(Math.min(1, Math.max(0, ms / durationMs)) * 1000) / 1000);
  const lateness = mergeSnapshots([r.sendLateness]);
  return {
    worker: r.workerIndex,
    opsPerSec: Math.round((r.replies / durationMs) * 1000 * 10) / 10,
    sendLatenessP99Us: percentileUs(lateness, 99),
    cpuFraction: fraction(r.threadCpuMs),
    runQueueWaitFraction: fraction(r.threadWaitMs),
  };
}
