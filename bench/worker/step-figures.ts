// What one worker measured in one step: counters and latency histograms per operation and per
// server, the generator's own send lateness, and the interval time series, then the step's report
// to the main thread. Flat typed arrays indexed [op], [op * 4 + kind], [server], [server * 4 + kind]:
// the recording calls on the per-request path allocate nothing.

import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { LatencyRecorder } from '../histogram.js';
import type { StepSpec, WorkerOperationReport, WorkerServerReport, WorkerStepReport, WorkerToMain } from '../messages.js';
import { emptyErrors, ERROR_KINDS, OPERATIONS, type ErrorCounts } from '../results.js';
import { sampleThreadCpu, type ThreadCpuSample } from './thread-cpu.js';

export const KIND_TIMEOUT = 0;
export const KIND_CONNECTION = 1;
export const KIND_ERROR_REPLY = 2;
export const KIND_WRONG_VALUE = 3;

/** A fresh event-loop delay monitor (10 ms resolution), enabled per step. */
export function createDelayMonitor(): IntervalHistogram {
  return monitorEventLoopDelay({ resolution: 10 });
}

export class StepFigures {
  private readonly requests = new Float64Array(3);
  private readonly replies = new Float64Array(3);
  private readonly misses = new Float64Array(3);
  private readonly errors = new Float64Array(12);
  private readonly latency = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
  private readonly service = [new LatencyRecorder(), new LatencyRecorder(), new LatencyRecorder()];
  private readonly serverRequests: Float64Array;
  private readonly serverErrors: Float64Array;
  private readonly serverKeys: Float64Array;
  private readonly serverLatency: LatencyRecorder[];
  private readonly lateness = new LatencyRecorder();
  private readonly intervalLatency = new LatencyRecorder();
  private intervalReplies = 0;
  private intervalErrors = 0;
  private intervalSeq = 0;
  private intervalStartMs = 0;
  private maxElu = 0;
  private eluMark: EventLoopUtilization | null = null;
  private threadAtStart: ThreadCpuSample | null = null;

  constructor(
    private readonly spec: StepSpec,
    private readonly workerIndex: number,
    private readonly intervalMs: number,
    serverCount: number,
    private readonly delay: IntervalHistogram,
    private readonly post: (message: WorkerToMain) => void,
  ) {
    this.serverRequests = new Float64Array(serverCount);
    this.serverErrors = new Float64Array(serverCount * 4);
    this.serverKeys = new Float64Array(serverCount);
    this.serverLatency = Array.from({ length: serverCount }, () => new LatencyRecorder());
  }

  /** The step starts at `nowMs`: the first interval and the event-loop measurements begin. */
  start(nowMs: number): void {
    this.intervalStartMs = nowMs;
    this.eluMark = performance.eventLoopUtilization();
    this.threadAtStart = sampleThreadCpu();
    this.delay.reset();
    this.delay.enable();
  }

  /** The step ended at `nowMs`: the last (partial) interval goes out. */
  stop(nowMs: number): void {
    this.delay.disable();
    this.emitInterval(nowMs);
  }

  /** A request of `op` went (or failed before going) to server `s`. */
  countRequest(op: number, s: number): void {
    this.requests[op]!++;
    this.serverRequests[s]!++;
  }

  /** A key was routed to server `s` (`delta` -1 moves a backlogged one elsewhere). */
  countKey(s: number, delta: number): void {
    this.serverKeys[s]! += delta;
  }

  countError(op: number, s: number, kind: number): void {
    this.errors[op * 4 + kind]!++;
    this.serverErrors[s * 4 + kind]!++;
    this.intervalErrors++;
  }

  countMiss(op: number): void {
    this.misses[op]!++;
  }

  /** How late the generator issued a request against its slot, µs. */
  recordLateness(us: number): void {
    this.lateness.record(us);
  }

  /** A reply of `op` from server `s`: latency from the intended send, service time from the actual send (µs). */
  recordReply(op: number, s: number, latencyUs: number, serviceUs: number): void {
    this.latency[op]!.record(latencyUs);
    this.service[op]!.record(serviceUs);
    this.serverLatency[s]!.record(latencyUs);
    this.intervalLatency.record(latencyUs);
    this.replies[op]!++;
    this.intervalReplies++;
  }

  /** Replies received so far in the step. */
  totalReplies(): number {
    return this.replies[0]! + this.replies[1]! + this.replies[2]!;
  }

  /** Sends the interval that ends at `nowMs` to the main thread (histogram encoded once). */
  emitInterval(nowMs: number): void {
    const durationMs = nowMs - this.intervalStartMs;
    if (durationMs <= 0 && this.intervalReplies === 0) return;
    if (this.eluMark !== null && durationMs >= Math.min(100, this.intervalMs)) {
      const elu = performance.eventLoopUtilization(this.eluMark);
      if (elu.utilization > this.maxElu) this.maxElu = elu.utilization;
    }
    this.eluMark = performance.eventLoopUtilization();
    this.post({
      type: 'interval',
      stepIndex: this.spec.stepIndex,
      workerIndex: this.workerIndex,
      seq: this.intervalSeq++,
      durationMs,
      replies: this.intervalReplies,
      errors: this.intervalErrors,
      latency: this.intervalLatency.snapshot(),
    });
    this.intervalLatency.reset();
    this.intervalReplies = 0;
    this.intervalErrors = 0;
    this.intervalStartMs = nowMs;
  }

  private errorsOf(arr: Float64Array, base: number): ErrorCounts {
    const e = emptyErrors();
    ERROR_KINDS.forEach((kind, k) => {
      e[kind] = arr[base * 4 + k]!;
    });
    return e;
  }

  /** The step's report: `durationMs` first send → last reply; the pacing facts of the step. */
  report(durationMs: number, pacing: Pick<WorkerStepReport, 'planned' | 'issued' | 'maxBacklog' | 'aborted' | 'deleteCursor' | 'spun'>): WorkerStepReport {
    const before = this.threadAtStart;
    const after = before === null ? null : sampleThreadCpu();
    const operations: WorkerStepReport['operations'] = {};
    let requests = 0;
    let replies = 0;
    OPERATIONS.forEach((name, op) => {
      if (this.requests[op] === 0 && this.spec.mix[name] === 0) return;
      const r: WorkerOperationReport = {
        requests: this.requests[op]!,
        errors: this.errorsOf(this.errors, op),
        misses: this.misses[op]!,
        latency: this.latency[op]!.snapshot(),
        serviceTime: this.service[op]!.snapshot(),
      };
      operations[name] = r;
      requests += r.requests;
      replies += this.replies[op]!;
    });
    const servers: WorkerServerReport[] = [];
    for (let s = 0; s < this.serverRequests.length; s++) {
      servers.push({ requests: this.serverRequests[s]!, errors: this.errorsOf(this.serverErrors, s), latency: this.serverLatency[s]!.snapshot(), keys: this.serverKeys[s]! });
    }
    const delayMaxMs = this.delay.count > 0 ? this.delay.max / 1e6 : 0;
    return {
      stepIndex: this.spec.stepIndex,
      workerIndex: this.workerIndex,
      durationMs,
      requests,
      replies,
      operations,
      servers,
      sendLateness: this.lateness.snapshot(),
      maxEventLoopUtilization: this.maxElu,
      maxEventLoopDelayMs: Number.isFinite(delayMaxMs) ? delayMaxMs : 0,
      ...pacing,
      threadCpuMs: before === null || after === null ? null : (after.cpuNs - before.cpuNs) / 1e6,
      threadWaitMs: before === null || after === null ? null : (after.waitNs - before.waitNs) / 1e6,
    };
  }
}
