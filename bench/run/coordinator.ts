// Runs a plan's steps across the worker threads (worker-pool.ts): decides what each step needs
// first (preloading the key space for GETs, keys for DELETEs, the target rate from the max probe,
// another attempt when steal disturbed it), and merges what the workers report into step results
// (merge-worker-reports.ts), the timeline (interval-timeline.ts) and the node history
// (node-transitions.ts).

import { canonicalNodeIds } from '../../client/ring.js';
import { mergeWorkerReports, type StepHistograms } from './merge-worker-reports.js';
import type { NodeTransition } from '../analysis/chaos-outages.js';
import type { BenchConfig } from './config.js';
import type { WorkerSettings } from '../messages.js';
import type { PlannedStep } from './plan.js';
import type { IntervalPoint, RunResult, StepResult } from '../results.js';
import { IntervalTimeline } from './interval-timeline.js';
import { NodeTransitions } from './node-transitions.js';
import { WorkerPool, type WorkerEvent } from './worker-pool.js';
import { requestsFor } from '../worker/schedule.js';
import { cpuShare, cpuUsBetween, otherProcessesCpuTicks, sampleCpu } from './server-cpu.js';
import { cpus } from 'node:os';
import { readCpuTicks, stealFraction, type CpuTicks } from './cpu-ticks.js';
import { disturbedBySteal } from '../analysis/steal-limit.js';
import { isDeleteOnly, needsKeySpacePreload } from '../workload.js';
import { median } from '../analysis/statistics.js';
import type { StepTiming } from './generator-part.js';

export interface CoordinatorHooks {
  onStepStart?(planned: PlannedStep, targetOpsPerSec: number | null, plannedCount: number): void;
  onInterval?(point: IntervalPoint): void;
  onStepDone?(step: StepResult): void;
  onPreload?(serverCount: number, keys: number): void;
  /** The unmeasured warm-up before the first step starts (what it sends, as in its event). */
  onWarmUp?(detail: string): void;
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
  /** Per worker: its DELETE-namespace keys 0 … n-1 may exist on the servers (--cleanup deletes them). */
  deleteCursors: number[];
}

/** Closed-loop DELETE steps preload this many keys per second of step when no probe is known yet. */
const FALLBACK_DELETE_RATE = 300_000;

/** Step index of the warm-up request that opens a timed run's connections before its first step (never measured). */
const WARM_UP_STEP = -1;

export class Coordinator {
  private readonly runStartMs = performance.now();
  private readonly events: RunResult['events'] = [];
  private readonly timeline: IntervalTimeline;
  private readonly nodes: NodeTransitions;
  private pool!: WorkerPool;
  private firstStepStarted = false;
  private warmedUp = false;
  /** Global index of this process's first worker: 0, or generatorIndex × numThreads in a split run. */
  private readonly firstWorker: number;
  /** --start_at: when each step may start; null: as soon as the previous one ended. */
  private timing: StepTiming | null = null;
  /**
   * The current step's thread starts (performance.now() ms), by worker: each interval report ends
   * at the thread's start plus the lengths of its intervals so far, and arrives a little after
   * that, so arrival − elapsed bounds the start from above; the least bound of the step is kept.
   */
  private readonly threadStarts = new Map<number, number>();
  /** The current step's interval lengths so far, ms, by worker. */
  private readonly threadElapsedMs = new Map<number, number>();

  private constructor(
    private readonly config: BenchConfig,
    private readonly hooks: CoordinatorHooks,
  ) {
    this.firstWorker = config.generatorIndex * config.numThreads;
    this.timeline = new IntervalTimeline(config.numThreads, config.intervalMs, (point) => this.hooks.onInterval?.(point));
    this.nodes = new NodeTransitions(performance.timeOrigin + this.runStartMs, (kind, detail, tSec) => this.addEvent(kind, detail, tSec));
  }

  /** Starts --num_threads workers (pinned to `cpuList` when given) and waits until each is ready. */
  static async start(config: BenchConfig, hooks: CoordinatorHooks = {}, cpuList: string | null = null): Promise<Coordinator> {
    const c = new Coordinator(config, hooks);
    // Workers carry their index in the whole run (generator-part.ts): it keys their streams and keys.
    const settings = Array.from({ length: config.numThreads }, (_, w): WorkerSettings => ({
      workerIndex: c.firstWorker + w,
      workerCount: config.generators * config.numThreads,
      seed: config.seed,
      keySpace: config.keySpace,
      valueSizeMin: config.valueSizeMin,
      valueSizeMax: config.valueSizeMax,
      verify: config.verify,
      connections: config.connections,
      pipeline: config.pipeline,
      timeoutMs: config.timeoutMs,
      intervalMs: config.intervalMs,
      keyPrefix: config.keyPrefix,
    }));
    c.pool = await WorkerPool.start(
      settings,
      (event) => {
        if (event.type === 'interval') c.onInterval(event);
        else c.nodes.add(event);
      },
      config.workerThreads,
      cpuList,
    );
    return c;
  }

  /** What kept worker threads from pinning themselves to the generator's cores (empty: nothing). */
  get pinProblems(): readonly string[] {
    return this.pool.pinProblems;
  }

  private onInterval(event: Extract<WorkerEvent, { type: 'interval' }>): void {
    if (event.stepIndex === WARM_UP_STEP) return;
    const elapsedMs = (this.threadElapsedMs.get(event.workerIndex) ?? 0) + event.durationMs;
    this.threadElapsedMs.set(event.workerIndex, elapsedMs);
    const start = performance.now() - elapsedMs;
    if (start < (this.threadStarts.get(event.workerIndex) ?? Infinity)) this.threadStarts.set(event.workerIndex, start);
    this.timeline.add({ ...event, workerIndex: event.workerIndex - this.firstWorker });
  }

  /** From now on, steps and preloads wait for their planned instants (--start_at). */
  useTiming(timing: StepTiming): void {
    this.timing = timing;
  }

  /**
   * Unmeasured GETs against `servers` before the first step (a read changes nothing): `seconds` of
   * them — open loop at --rate when one is given, else closed loop — or, with 0, one per
   * connection. Connecting would otherwise delay a timed run's first step, and a fresh process's
   * first seconds are slower than its later ones (V8 has not compiled the hot path yet, nor a
   * kvring server's): measured on one redis-server at 2k–24k GET/s, the first step's p99 over its
   * first second was 3–6 ms against 0.4–0.6 ms once warm, and the same step run a second time in
   * the same process had a p99 1.5–4× lower.
   */
  async warmUp(servers: readonly string[], seconds: number): Promise<void> {
    this.warmedUp = true;
    const rate = seconds > 0 ? this.config.rateOpsPerSec : null;
    await this.pool.runStep({
      stepIndex: WARM_UP_STEP,
      servers: [...servers],
      mode: rate === null ? 'closed' : 'open',
      ratePerSec: rate === null ? null : rate / this.pool.size,
      durationMs: seconds > 0 ? seconds * 1000 : null,
      numRequests: seconds > 0 ? null : 1,
      mix: { put: 0, get: 1, delete: 0 },
      keyDist: 'uniform',
      deleteOnly: false,
      deleteKeys: 0,
    });
  }

  /** Node-down / node-up as the workers saw them, merged (first down, last up). */
  get transitions(): NodeTransition[] {
    return this.nodes.transitions;
  }

  /** Records an event of the run (chaos actions come from run/chaos-runner.ts). */
  addEvent(kind: string, detail: string, tSec = this.elapsedSec()): void {
    this.events.push({ tSec, kind, detail });
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
    // Indexed by global worker: --cleanup names DELETE namespaces by it.
    const deleteCursors = new Array<number>(this.firstWorker + this.pool.size).fill(0);
    const timing = this.timing;
    const bestRateByCount = new Map<number, number>();
    let preloadedFor: string | null = null;
    const onAbort = (): void => this.pool.broadcast({ type: 'abort' });
    signal.addEventListener('abort', onAbort);
    let failure: Error | null = null;
    try {
      for (const planned of plan) {
        if (signal.aborted) break;
        const stepServers = servers.slice(0, planned.serverCount);
        const serversKey = stepServers.join(',');
        if (needsKeySpacePreload(planned.workload) && preloadedFor !== serversKey) {
          await timing?.beforePreload(planned, signal);
          if (signal.aborted) break;
          this.hooks.onPreload?.(planned.serverCount, config.keySpace);
          const keys = await this.pool.preload(stepServers);
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
        // A split run: `target` is every generator's together, this one drives its share.
        const totalTarget = target;
        if (target !== null && timing !== null) target *= timing.share;
        const perWorkerRate = target === null ? null : target / this.pool.size;
        const durationMs = config.numRequests === null ? config.stepDurationSec * 1000 : null;
        let deleteKeys = 0;
        if (isDeleteOnly(planned.workload)) {
          if (config.numRequests !== null) deleteKeys = config.numRequests;
          else if (perWorkerRate !== null) deleteKeys = requestsFor(perWorkerRate, config.stepDurationSec);
          else {
            // Closed loop: the count is not known ahead; take twice the best rate seen with this many servers.
            const rate = (bestRateByCount.get(planned.serverCount) ?? FALLBACK_DELETE_RATE / 2) * 2;
            deleteKeys = Math.ceil((rate * config.stepDurationSec) / this.pool.size);
          }
        }
        if (!this.warmedUp && timing === null) {
          const seconds = config.warmupSec;
          const detail = `${seconds} s of unmeasured GETs (${config.rateOpsPerSec === null ? 'closed loop' : `${config.rateOpsPerSec} ops/s`}) over ${planned.serverCount} server(s)`;
          if (seconds > 0) this.hooks.onWarmUp?.(detail);
          await this.warmUp(stepServers, seconds);
          if (seconds > 0) events.push({ tSec: this.elapsedSec(), kind: 'warm-up', detail });
          if (signal.aborted) break;
        }
        // --steal_retries: a step taken while another tenant had the machine is measured again.
        for (let attempt = 0; ; attempt++) {
          const resultIndex = steps.length;
          const release = timing === null ? null : await timing.beforeStep(planned, totalTarget, signal);
          if (release !== null && signal.aborted) break;
          this.threadStarts.clear();
          this.threadElapsedMs.clear();
          this.timeline.startStep(resultIndex, this.elapsedSec());
          if (!this.firstStepStarted) {
            this.firstStepStarted = true;
            this.hooks.onFirstStep?.();
          }
          this.hooks.onStepStart?.(planned, target, plan.length);
          const serverPids = pidsOf(stepServers);
          // Servers this run did not start have no pid here: their work would read as other
          // processes', so the figure is left unknown for them.
          const ownServers = serverPids.some((p) => p === null) ? null : new Set(serverPids as number[]);
          const cpuBefore = process.cpuUsage();
          const serverCpuBefore = sampleCpu(serverPids);
          const ticksBefore = readTicks();
          const othersBefore = ownServers === null ? null : otherProcessesCpuTicks(ownServers);
          const stepStartMs = performance.now();
          const reports = await this.pool.runStep({
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
          const serverCpuUs = cpuUsBetween(serverCpuBefore, sampleCpu(serverPids));
          const steal = stealFraction(ticksBefore, readTicks());
          const othersAfter = othersBefore === null || ownServers === null ? null : otherProcessesCpuTicks(ownServers);
          const others = othersBefore === null || othersAfter === null ? null : cpuShare(othersAfter - othersBefore, (performance.now() - stepStartMs) / 1000, cpus().length);
          this.timeline.flush();
          const { step, histograms: h } = mergeWorkerReports(
            {
              index: resultIndex,
              planned,
              servers: canonicalNodeIds(stepServers),
              targetOpsPerSec: target,
              cpuUs: cpu.user + cpu.system,
              serverCpuUs,
              stealFraction: steal,
              otherCpuFraction: others,
              thresholds: { latenessUs: config.clientBoundLatenessUs, eventLoopUtilization: config.clientBoundElu, runQueueWait: config.clientBoundWait },
            },
            reports,
          );
          if (release !== null && timing !== null) {
            step.start = timing.startRecord(release, [...this.threadStarts.values()]);
            const late = timing.lateNote(planned, step.start);
            if (late !== null) events.push({ tSec: this.elapsedSec(), kind: 'late-start', detail: late });
          }
          steps.push(step);
          histograms.push(h);
          for (const r of reports) deleteCursors[r.workerIndex] = Math.max(deleteCursors[r.workerIndex] ?? 0, r.deleteCursor);
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
    return { steps, intervals: this.timeline.points, events, histograms, interrupted: signal.aborted, failure, deleteCursors };
  }

  /** Seconds since the coordinator started (the run's clock for events). */
  elapsedSec(): number {
    return Math.round(performance.now() - this.runStartMs) / 1000;
  }

  /** Stops every worker (gracefully, then terminate). */
  async close(): Promise<void> {
    await this.pool.close();
  }
}
