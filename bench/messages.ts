// The one typed union of messages between the bench's main thread and its workers. Every message
// has a `type`. Histograms travel as snapshots of their non-empty buckets (typed arrays), once per
// interval and once per step: never a message per request. The main thread turns them into
// HdrHistograms; the worker never runs the (millisecond-long) compressed encoding itself.

import type { HistogramSnapshot } from './histogram.js';
import type { KeyDistribution } from './workload.js';
import type { ErrorCounts, LoadMode, Operation } from './results.js';

/** Fixed for the life of a worker (passed as workerData). */
export interface WorkerSettings {
  workerIndex: number;
  workerCount: number;
  seed: number;
  keySpace: number;
  valueSizeMin: number;
  valueSizeMax: number;
  verify: boolean;
  connections: number;
  pipeline: number;
  timeoutMs: number;
  intervalMs: number;
  /** --key_prefix: every key the worker writes starts with it (bench/key-names.ts). */
  keyPrefix: string;
}

/** One measured step, as one worker runs it. */
export interface StepSpec {
  stepIndex: number;
  /** Server addresses of the step; the worker builds the same Ring from them as the main thread. */
  servers: string[];
  mode: LoadMode;
  /** This worker's share of the offered load (open loop); null in closed loop. */
  ratePerSec: number | null;
  /** 0..1: offset of this worker's schedule slots, so workers interleave. */
  phase: number;
  /** Timed step length, or null when numRequests bounds the step. */
  durationMs: number | null;
  numRequests: number | null;
  /** Relative operation weights. */
  mix: Record<Operation, number>;
  keyDist: KeyDistribution;
  /** DELETE-only workloads delete keys preloaded for them (deleteKeys per worker), one each. */
  deleteOnly: boolean;
  deleteKeys: number;
}

export interface PreloadSpec {
  requestId: number;
  servers: string[];
}

export type MainToWorker =
  /** Run one step on the client spec.workerIndex (a thread may host several clients). */
  | { type: 'step'; spec: StepSpec & { workerIndex: number } }
  /** Write every key of this client's share of the key space, so GETs hit. */
  | { type: 'preload'; workerIndex: number; spec: PreloadSpec }
  /** Stop the current step early (Ctrl-C); the worker still reports what it measured. */
  | { type: 'abort' }
  | { type: 'shutdown' };

/** Per-operation figures of one worker's step. */
export interface WorkerOperationReport {
  requests: number;
  errors: ErrorCounts;
  misses: number;
  latency: HistogramSnapshot;
  serviceTime: HistogramSnapshot;
}

export interface WorkerServerReport {
  requests: number;
  errors: ErrorCounts;
  latency: HistogramSnapshot;
  /** Requests generated whose key the ring mapped to this server. */
  keys: number;
}

export interface WorkerStepReport {
  stepIndex: number;
  workerIndex: number;
  /** From the step's start to its last reply (or to the end of draining). */
  durationMs: number;
  /** Requests sent or failed: Σ operations[].requests. */
  requests: number;
  replies: number;
  operations: Partial<Record<Operation, WorkerOperationReport>>;
  /** In ring order (Ring.nodes). */
  servers: WorkerServerReport[];
  /** How late requests were issued against the schedule (open loop), µs. */
  sendLateness: HistogramSnapshot;
  /** Highest event-loop utilisation of any interval of the step (0..1). */
  maxEventLoopUtilization: number;
  maxEventLoopDelayMs: number;
  /** Open loop: requests the schedule planned and those issued (less only if aborted). */
  planned: number;
  issued: number;
  /** Most requests waiting for a free connection slot at once. */
  maxBacklog: number;
  aborted: boolean;
  /** The thread paced this step by spinning (its event loop never idled; see worker/ticker.ts). */
  spun: boolean;
  /** The worker's next unused DELETE-namespace key number after the step (for --cleanup). */
  deleteCursor: number;
  /** Time this worker's thread ran during the step, ms; null where the kernel does not say. */
  threadCpuMs: number | null;
  /** Time this worker's thread was ready to run but waited for a CPU, ms; null where unknown. */
  threadWaitMs: number | null;
}

export type WorkerToMain =
  /** The thread started; it hosts these clients. */
  | { type: 'ready'; workerIndexes: number[]; /** Why the thread could not pin itself (null: pinned, or not asked to). */ pinProblem: string | null }
  | {
      type: 'interval';
      stepIndex: number;
      workerIndex: number;
      /** 0-based interval number within the step. */
      seq: number;
      /** Length of this interval (the last one of a step is shorter). */
      durationMs: number;
      replies: number;
      errors: number;
      /** The interval's intended-time latencies. */
      latency: HistogramSnapshot;
    }
  | { type: 'preloaded'; requestId: number; workerIndex: number; keys: number; errors: number }
  | { type: 'stepDone'; report: WorkerStepReport }
  /**
   * This worker marked a server down (a connection lost or timed out; its keys now go to the next
   * live server) or saw it answer PING again. errors: down → requests to it that failed before the
   * failover; up → those that failed while it was down. atEpochMs: performance.timeOrigin + now().
   */
  | { type: 'node'; workerIndex: number; address: string; state: 'down' | 'up'; errors: number; atEpochMs: number }
  | { type: 'failed'; workerIndex: number; message: string };
