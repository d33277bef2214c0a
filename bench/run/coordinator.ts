// Runs a plan's steps across the worker threads: tells each worker its share, collects interval
// and step reports, merges them (bench/aggregate.ts), and decides what each step needs first
// (preloading the key space for GETs, keys for DELETEs, the target rate from the max probe).

import { Worker } from 'node:worker_threads';
import type { Histogram } from 'hdr-histogram-js';
import { canonicalNodeIds } from '../../client/ring.js';
import { aggregateStep, type StepHistograms } from './merge-worker-reports.js';
import type { NodeTransition } from '../analysis/chaos-outages.js';
import type { BenchConfig } from './config.js';
import { WorkerFailedError } from '../errors.js';
import { mergeSnapshots, percentileUs, type HistogramSnapshot } from '../histogram.js';
import type { MainToWorker, StepSpec, WorkerSettings, WorkerStepReport, WorkerToMain } from '../messages.js';
import type { PlannedStep } from './plan.js';
import type { IntervalPoint, RunResult, StepResult } from '../results.js';
import { requestsFor } from '../worker/schedule.js';
import { cpuUsBetween, sampleCpu } from './server-cpu.js';
import { readCpuTicks, stealFraction, type CpuTicks } from './cpu-ticks.js';
import { disturbedBySteal } from '../analysis/steal-limit.js';
import { isDeleteOnly, needsKeySpacePreload } from '../workload.js';
import { median } from '../analysis/statistics.js';

export interface CoordinatorHooks {
  onStepStart?(planned: PlannedStep, targetOpsPerSec: number | null, plannedCount: number): void;
  onInterval?(point: IntervalPoint): void;
  onStepDone?(step: StepResult): void;
  onPreload?(serverCount: number, keys: number): void;
  /** The first measured step is about to start (the --chaos clock starts here). */
  onFirstStep?(): void;
}

export interface PlanOutcome {
  steps: StepResult[];
  intervals: IntervalPoint[];
  events: RunResult['events'];
  /** Merged histograms per step (same order as steps), for the .hgrm files. */
  histograms: StepHistograms[];
  interrupted: boolean;
  /** A failure that ended the run early (a worker crashed, a preload failed); the steps before it are kept. */
  failure: Error | null;
}

/** Closed-loop DELETE steps preload this many keys per second of step when no probe is known yet. */
const FALLBACK_DELETE_RATE = 300_000;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

interface IntervalGroup {
  replies: number;
  errors: number;
  histograms: HistogramSnapshot[];
  endMs: number;
  reported: number;
}

export class Coordinator {
  private readonly workers: Worker[] = [];
  private stepWaiter: (Waiter<WorkerStepReport[]> & { reports: WorkerStepReport[] }) | null = null;
  private preloadWaiter: (Waiter<number> & { done: number; keys: number; requestId: number }) | null = null;
  private readonly intervalGroups = new Map<number, IntervalGroup>();
  private readonly workerElapsedMs: number[] = [];
  private currentStepStartSec = 0;
  private currentResultIndex = 0;
  private failure: Error | null = null;
  private closing = false;
  private readonly runStartMs = performance.now();
  private nextRequestId = 1;
  private readonly events: RunResult['events'] = [];
  /** Workers that consider each address down, and the open node-down transition. */
  private readonly downBy = new Map<string, { workers: Set<number>; errorsWhileDown: number }>();
  /** Node-down / node-up as the workers saw them, merged (first down, last up). */
  readonly transitions: NodeTransition[] = [];
  private firstStepStarted = false;

  private constructor(
    private readonly config: BenchConfig,
    private readonly hooks: CoordinatorHooks,
  ) {}

  /** Starts --num_threads workers and waits until each is ready. */
  static async start(config: BenchConfig, hooks: CoordinatorHooks = {}): Promise<Coordinator> {
    const c = new Coordinator(config, hooks);
    const ready: Promise<void>[] = [];
    for (let w = 0; w < config.numThreads; w++) {
      const settings: WorkerSettings = {
        workerIndex: w,
        workerCount: config.numThreads,
        seed: config.seed,
        keySpace: config.keySpace,
        valueSizeMin: config.valueSizeMin,
        valueSizeMax: config.valueSizeMax,
        verify: config.verify,
        connections: config.connections,
        pipeline: config.pipeline,
        timeoutMs: config.timeoutMs,
        intervalMs: config.intervalMs,
      };
      const worker = new Worker(new URL('../worker/thread.js', import.meta.url), { workerData: settings });
      c.workers.push(worker);
      c.workerElapsedMs.push(0);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: WorkerToMain): void => {
            if (m.type === 'ready') {
              worker.off('message', onMessage);
              resolve();
            }
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
        }),
      );
      worker.on('message', (m: WorkerToMain) => c.onMessage(m));
      worker.on('error', (err) => c.fail(new WorkerFailedError(`worker ${w} crashed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!c.closing) c.fail(new WorkerFailedError(`worker ${w} exited unexpectedly (code ${code})`));
      });
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await c.close();
      throw new WorkerFailedError(`a worker failed to start: ${(err as Error).message}`);
    }
    return c;
  }

  private broadcast(message: MainToWorker): void {
    for (const w of this.workers) w.postMessage(message);
  }

  private fail(err: Error): void {
    if (this.failure === null) this.failure = err;
    this.stepWaiter?.reject(err);
    this.preloadWaiter?.reject(err);
    this.stepWaiter = null;
    this.preloadWaiter = null;
  }

  private onMessage(m: WorkerToMain): void {
    switch (m.type) {
      case 'ready':
        return;
      case 'interval':
        this.onInterval(m);
        return;
      case 'stepDone': {
        const waiter = this.stepWaiter;
        if (waiter === null) return;
        waiter.reports.push(m.report);
        if (waiter.reports.length === this.workers.length) {
          this.stepWaiter = null;
          waiter.resolve(waiter.reports);
        }
        return;
      }
      case 'preloaded': {
        const waiter = this.preloadWaiter;
        if (waiter === null || waiter.requestId !== m.requestId) return;
        waiter.done++;
        waiter.keys += m.keys;
        if (m.errors > 0) {
          this.fail(new WorkerFailedError(`preloading keys got ${m.errors} error replies from the servers; check their logs (memory limits?)`));
          return;
        }
        if (waiter.done === this.workers.length) {
          this.preloadWaiter = null;
          waiter.resolve(waiter.keys);
        }
        return;
      }
      case 'failed':
        this.fail(new WorkerFailedError(`worker ${m.workerIndex}: ${m.message}`));
        return;
      case 'node':
        this.onNode(m);
        return;
    }
  }

  private onNode(m: Extract<WorkerToMain, { type: 'node' }>): void {
    const tSec = Math.round(m.atEpochMs - (performance.timeOrigin + this.runStartMs)) / 1000;
    let d = this.downBy.get(m.address);
    if (m.state === 'down') {
      if (d === undefined) {
        d = { workers: new Set(), errorsWhileDown: 0 };
        this.downBy.set(m.address, d);
        this.transitions.push({ tSec, address: m.address, state: 'down', errors: m.errors });
        this.addEvent('node-down', `${m.address}: marked down by worker ${m.workerIndex}; its keys go to the next live server`, tSec);
      } else {
        // Another worker's failover errors belong to the same outage.
        for (let i = this.transitions.length - 1; i >= 0; i--) {
          const t = this.transitions[i]!;
          if (t.address === m.address && t.state === 'down') {
            t.errors += m.errors;
            break;
          }
        }
      }
      d.workers.add(m.workerIndex);
      return;
    }
    if (d === undefined) return;
    d.workers.delete(m.workerIndex);
    d.errorsWhileDown += m.errors;
    if (d.workers.size > 0) return;
    this.downBy.delete(m.address);
    this.transitions.push({ tSec, address: m.address, state: 'up', errors: d.errorsWhileDown });
    this.addEvent('node-up', `${m.address}: answers PING again; every worker routes its keys to it`, tSec);
  }

  /** Records an event of the run (chaos actions come from bench/chaos-runner.ts). */
  addEvent(kind: string, detail: string, tSec = this.elapsedSec()): void {
    this.events.push({ tSec, kind, detail });
  }

  private onInterval(m: Extract<WorkerToMain, { type: 'interval' }>): void {
    this.workerElapsedMs[m.workerIndex] = (this.workerElapsedMs[m.workerIndex] ?? 0) + m.durationMs;
    let g = this.intervalGroups.get(m.seq);
    if (g === undefined) {
      g = { replies: 0, errors: 0, histograms: [], endMs: 0, reported: 0 };
      this.intervalGroups.set(m.seq, g);
    }
    g.replies += m.replies;
    g.errors += m.errors;
    g.histograms.push(m.latency);
    g.endMs = Math.max(g.endMs, this.workerElapsedMs[m.workerIndex]!);
    g.reported++;
    if (g.reported === this.workers.length) this.emitInterval(m.seq, g);
  }

  private readonly intervals: IntervalPoint[] = [];

  private emitInterval(seq: number, g: IntervalGroup): void {
    this.intervalGroups.delete(seq);
    const lengthMs = Math.max(g.endMs - this.lastIntervalEndMs, 1);
    this.lastIntervalEndMs = g.endMs;
    const h = mergeSnapshots(g.histograms);
    const last = this.lastPoint;
    if (last !== null && lengthMs < this.config.intervalMs / 4) {
      // A step's short tail (its last replies after the final full interval) joins the interval
      // before it instead of becoming a point of its own with a meaningless rate.
      last.histogram.add(h);
      last.replies += g.replies;
      last.lengthMs += lengthMs;
      last.point.tSec = this.pointTime(g.endMs);
      last.point.opsPerSec = Math.round((last.replies / last.lengthMs) * 1000);
      last.point.errors += g.errors;
      last.point.p50Us = percentileUs(last.histogram, 50);
      last.point.p99Us = percentileUs(last.histogram, 99);
      return;
    }
    const point: IntervalPoint = {
      tSec: this.pointTime(g.endMs),
      stepIndex: this.currentResultIndex,
      opsPerSec: Math.round((g.replies / lengthMs) * 1000),
      errors: g.errors,
      p50Us: percentileUs(h, 50),
      p99Us: percentileUs(h, 99),
    };
    this.intervals.push(point);
    this.lastPoint = { point, histogram: h, replies: g.replies, lengthMs };
    this.hooks.onInterval?.(point);
  }

  private pointTime(endMs: number): number {
    return Math.round((this.currentStepStartSec + endMs / 1000) * 1000) / 1000;
  }

  /** The current step's latest point, while a short tail may still join it. */
  private lastPoint: { point: IntervalPoint; histogram: Histogram; replies: number; lengthMs: number } | null = null;

  private lastIntervalEndMs = 0;

  private flushIntervals(): void {
    for (const seq of [...this.intervalGroups.keys()].sort((a, b) => a - b)) this.emitInterval(seq, this.intervalGroups.get(seq)!);
  }

  private async preloadKeySpace(servers: string[]): Promise<number> {
    if (this.failure !== null) throw this.failure;
    const requestId = this.nextRequestId++;
    const done = new Promise<number>((resolve, reject) => {
      this.preloadWaiter = { resolve, reject, done: 0, keys: 0, requestId };
    });
    this.broadcast({ type: 'preload', spec: { requestId, servers } });
    return done;
  }

  private async runOne(spec: Omit<StepSpec, 'phase'>): Promise<WorkerStepReport[]> {
    if (this.failure !== null) throw this.failure;
    const done = new Promise<WorkerStepReport[]>((resolve, reject) => {
      this.stepWaiter = { resolve, reject, reports: [] };
    });
    this.workers.forEach((w, i) => {
      const message: MainToWorker = { type: 'step', spec: { ...spec, phase: i / this.workers.length } };
      w.postMessage(message);
    });
    return done;
  }

  /**
   * Runs `plan` against `servers` (in sweep order: a step with n servers uses the first n).
   * Aborting `signal` stops after the current step, whose requests in flight still complete.
   * `pidsOf` names the process behind each address, for the servers' CPU per request (null: unknown);
   * `readTicks` reads the machine's CPU and steal ticks (tests give it a hypervisor of their own).
   */
  async runPlan(
    plan: readonly PlannedStep[],
    servers: readonly string[],
    signal: AbortSignal,
    pidsOf: (addresses: readonly string[]) => (number | null)[] = (a) => a.map(() => null),
    readTicks: () => CpuTicks | null = readCpuTicks,
  ): Promise<PlanOutcome> {
    const config = this.config;
    const steps: StepResult[] = [];
    const histograms: StepHistograms[] = [];
    const events = this.events;
    const probes = new Map<string, number[]>();
    const bestRateByCount = new Map<number, number>();
    let preloadedFor: string | null = null;
    const onAbort = (): void => this.broadcast({ type: 'abort' });
    signal.addEventListener('abort', onAbort);
    let failure: Error | null = null;
    try {
      for (const planned of plan) {
        if (signal.aborted) break;
        const stepServers = servers.slice(0, planned.serverCount);
        const serversKey = stepServers.join(',');
        if (needsKeySpacePreload(planned.workload) && preloadedFor !== serversKey) {
          this.hooks.onPreload?.(planned.serverCount, config.keySpace);
          const keys = await this.preloadKeySpace(stepServers);
          events.push({ tSec: this.elapsedSec(), kind: 'preload', detail: `${keys} keys over ${planned.serverCount} server(s)` });
          preloadedFor = serversKey;
          if (signal.aborted) break;
        }
        const groupKey = `${planned.serverCount}\u0000${planned.workload.name}`;
        let target: number | null = null;
        if (planned.phase === 'level') {
          const base = config.rateOpsPerSec ?? median(probes.get(groupKey) ?? []);
          if (!(base > 0)) {
            events.push({ tSec: this.elapsedSec(), kind: 'skip', detail: `step ${planned.index} (${planned.workload.name}, ${planned.serverCount} servers): no throughput measured by the max probe` });
            continue;
          }
          target = base * (planned.loadFraction ?? 1);
        }
        const perWorkerRate = target === null ? null : target / this.workers.length;
        const durationMs = config.numRequests === null ? config.stepDurationSec * 1000 : null;
        let deleteKeys = 0;
        if (isDeleteOnly(planned.workload)) {
          if (config.numRequests !== null) deleteKeys = config.numRequests;
          else if (perWorkerRate !== null) deleteKeys = requestsFor(perWorkerRate, config.stepDurationSec);
          else {
            // Closed loop: the count is not known ahead; take twice the best rate seen with this many servers.
            const rate = (bestRateByCount.get(planned.serverCount) ?? FALLBACK_DELETE_RATE / 2) * 2;
            deleteKeys = Math.ceil((rate * config.stepDurationSec) / this.workers.length);
          }
        }
        // --steal_retries: a step taken while another tenant had the machine is measured again.
        for (let attempt = 0; ; attempt++) {
          const resultIndex = steps.length;
          this.currentResultIndex = resultIndex;
          this.currentStepStartSec = this.elapsedSec();
          this.workerElapsedMs.fill(0);
          this.lastIntervalEndMs = 0;
          this.lastPoint = null;
          if (!this.firstStepStarted) {
            this.firstStepStarted = true;
            this.hooks.onFirstStep?.();
          }
          this.hooks.onStepStart?.(planned, target, plan.length);
          const cpuBefore = process.cpuUsage();
          const serverCpuBefore = sampleCpu(pidsOf(stepServers));
          const ticksBefore = readTicks();
          const reports = await this.runOne({
            stepIndex: planned.index,
            servers: stepServers,
            mode: planned.mode,
            ratePerSec: perWorkerRate,
            durationMs,
            numRequests: config.numRequests,
            mix: planned.workload.mix,
            keyDist: planned.workload.keyDist ?? config.keyDist,
            deleteOnly: isDeleteOnly(planned.workload),
            deleteKeys,
          });
          const cpu = process.cpuUsage(cpuBefore);
          const serverCpuUs = cpuUsBetween(serverCpuBefore, sampleCpu(pidsOf(stepServers)));
          const steal = stealFraction(ticksBefore, readTicks());
          this.flushIntervals();
          const { step, histograms: h } = aggregateStep(
            {
              index: resultIndex,
              planned,
              servers: canonicalNodeIds(stepServers),
              targetOpsPerSec: target,
              cpuUs: cpu.user + cpu.system,
              serverCpuUs,
              stealFraction: steal,
              thresholds: { latenessUs: config.clientBoundLatenessUs, eventLoopUtilization: config.clientBoundElu },
            },
            reports,
          );
          steps.push(step);
          histograms.push(h);
          this.hooks.onStepDone?.(step);
          const disturbed = disturbedBySteal(step.stealFraction);
          if (disturbed && attempt < config.stealRetries && !signal.aborted) {
            // Kept in the results (compare leaves it out); the step is measured again.
            events.push({ tSec: this.elapsedSec(), kind: 'steal-retry', detail: `step ${planned.index} (${planned.workload.name}): ${(step.stealFraction! * 100).toFixed(0)}% of the CPU stolen by the hypervisor, measuring it again` });
            continue;
          }
          if (planned.phase === 'max') {
            const list = probes.get(groupKey) ?? [];
            list.push(step.achievedOpsPerSec);
            probes.set(groupKey, list);
          }
          bestRateByCount.set(planned.serverCount, Math.max(bestRateByCount.get(planned.serverCount) ?? 0, step.achievedOpsPerSec));
          break;
        }
      }
    } catch (err) {
      // Keep what was measured: the caller writes it and then reports the failure.
      failure = err as Error;
      events.push({ tSec: this.elapsedSec(), kind: 'failure', detail: failure.message });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    events.sort((a, b) => a.tSec - b.tSec);
    return { steps, intervals: this.intervals, events, histograms, interrupted: signal.aborted, failure };
  }

  /** Seconds since the coordinator started (the run's clock for events). */
  elapsedSec(): number {
    return Math.round((performance.now() - this.runStartMs)) / 1000;
  }

  /** Stops every worker (gracefully, then terminate). */
  async close(): Promise<void> {
    this.closing = true;
    const exits = this.workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            void w.terminate().then(() => resolve());
          }, 2000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    );
    for (const w of this.workers) w.postMessage({ type: 'shutdown' } satisfies MainToWorker);
    await Promise.all(exits);
  }
}

