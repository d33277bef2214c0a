// The results of one bench run: plain data, written as results.json, read back by `report`,
// `compare` and `merge`. Every renderer (terminal table, charts, HTML, markdown) is a function of
// a RunResult; nothing else is shared between the harness and its reports.
//
// Units are in the field names: ...Us = microseconds, ...Ms = milliseconds, ...PerSec = per second.
// Bump SCHEMA_VERSION on any incompatible change and document it in README ("results.json").
// `validateRunResult` below is the executable form of this schema: tests and readers use it.


export const SCHEMA_VERSION = 1;

export const OPERATIONS = ['put', 'get', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type LoadMode = 'open' | 'closed';
export type TargetKind = 'kvring' | 'redis' | 'external';

export const ERROR_KINDS = ['timeout', 'connection', 'errorReply', 'wrongValue'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** What --chaos can do to a started server: kill -9, SIGSTOP, SIGCONT, restart. */
export const CHAOS_ACTIONS = ['kill', 'stop', 'cont', 'restart'] as const;
export type ChaosActionKind = (typeof CHAOS_ACTIONS)[number];

/** Error kinds are counted separately and never dropped from the denominators. */
export interface ErrorCounts {
  /** No reply within --timeout_ms of the request's send (or of its intended send, if it never left). */
  timeout: number;
  /** Connection refused, reset or closed before the reply. */
  connection: number;
  /** The server answered with an error reply (`-ERR ...`). */
  errorReply: number;
  /** --verify: a GET returned something other than the value last written, or hit after a DELETE. */
  wrongValue: number;
}

/** Latency percentiles of one histogram, in microseconds (HdrHistogram, 3 significant digits). */
export interface LatencySummary {
  count: number;
  minUs: number;
  meanUs: number;
  stdevUs: number;
  maxUs: number;
  p50Us: number;
  p75Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
}

export interface OperationStats {
  /** Requests sent: replies + timeouts + connection errors. */
  requests: number;
  errors: ErrorCounts;
  /** Replies that found nothing: GET → nil, DELETE → 0. Not errors (unless --verify expected a hit). */
  misses: number;
  /**
   * From each request's intended send time (coordinated omission corrected): what a caller
   * issuing requests on the schedule would have waited. Counts every reply, error replies included.
   */
  latency: LatencySummary;
  /** From each request's actual send time (what memtier and redis-benchmark report). */
  serviceTime: LatencySummary;
  /** Base64 of the compressed HdrHistogram of `latency` (hdr-histogram-js encodeIntoCompressedBase64). */
  latencyHistogram: string;
  serviceTimeHistogram: string;
}

export interface ServerStats {
  /** host:port as given to the ring. */
  server: string;
  requests: number;
  errors: ErrorCounts;
  /** Intended-time latency of this server's replies. */
  latency: LatencySummary;
  /** Share of the step's requests whose key the ring mapped to this server (0..1). */
  keyShare: number;
}

/** Why a step's numbers may describe the load generator rather than the server. */
export interface ClientBoundVerdict {
  clientBound: boolean;
  /** Human-readable causes, e.g. "p99 send lateness 4100 µs > 1000 µs", "worker event loop 97% busy". */
  causes: string[];
  /**
   * How late requests were issued against their schedule, microseconds (p99 over all workers).
   * Only the generator's own lag: waiting for a free connection is the server's doing and is not in it.
   * 0 in closed-loop steps, which have no schedule.
   */
  sendLatenessP99Us: number;
  sendLatenessMaxUs: number;
  /** Highest worker event-loop utilisation seen in the step (0..1). */
  maxEventLoopUtilization: number;
  /** Longest worker event-loop delay seen, milliseconds. */
  maxEventLoopDelayMs: number;
  /** CPU time of the whole bench process (all threads) per request, microseconds. */
  cpuUsPerRequest: number;
  /**
   * How the generator paced the step: 'sleep' (its threads slept until each request was due) or
   * 'spin' (above 80k requests/s per worker thread on a core of its own, its event loop never
   * idled: event-loop utilisation and CPU per request then say nothing about its load). Absent in
   * older files.
   */
  pacing?: 'sleep' | 'spin';
  /** Largest share of the step any worker thread waited for a CPU (0..1); null where unknown. Absent in older files. */
  maxRunQueueWaitFraction?: number | null;
  /** Per worker thread: its throughput, lateness and time on and off the CPU. Absent in older files. */
  threads?: ThreadHealth[];
}

/** One generator thread in one step. */
export interface ThreadHealth {
  worker: number;
  /** Replies per second this thread received. */
  opsPerSec: number;
  /** Open loop: p99 of this thread's send lateness, µs (0 in closed loop). */
  sendLatenessP99Us: number;
  /** Share of the step the thread ran on a CPU (0..1); null where unknown. */
  cpuFraction: number | null;
  /** Share of the step the thread was ready to run but waited for a CPU (0..1); null where unknown. */
  runQueueWaitFraction: number | null;
}

/** One interval (--interval_ms, default one second) of the run, for the timeline. */
export interface IntervalPoint {
  /** Seconds since the run started, at the end of the interval. */
  tSec: number;
  stepIndex: number;
  /** Replies in the interval / its length. */
  opsPerSec: number;
  errors: number;
  p50Us: number;
  p99Us: number;
}

export type StepPhase = 'max' | 'level';

export interface StepResult {
  index: number;
  /** Number of servers in the ring for this step. */
  serverCount: number;
  /** Workload label: 'put' | 'get' | 'delete', a preset ('ycsb-a') or a mix ('mix-get90-put10'). */
  workload: string;
  mode: LoadMode;
  /** 'max' = closed-loop saturation probe (or the step of --mode closed); 'level' = open-loop step. */
  phase: StepPhase;
  /** Offered load as a fraction of the measured maximum (or of --rate), null for closed loop. */
  loadFraction: number | null;
  /** Trial number (0-based) when --trials repeats the measurement. */
  trial: number;
  /** Offered ops/s of an open-loop step, null for closed loop. */
  targetOpsPerSec: number | null;
  /** Replies (of any kind) per second over the step, from its start to its last reply. */
  achievedOpsPerSec: number;
  durationSec: number;
  /** Requests sent; = Σ operations[op].requests = total.latency.count + timeouts + connection errors. */
  requests: number;
  errors: ErrorCounts;
  /** (Σ errors) / requests, 0..1. */
  errorRate: number;
  /** All operations of the step together. */
  total: OperationStats;
  /** Per operation (one entry for single-op workloads, several for mixes). */
  operations: Partial<Record<Operation, OperationStats>>;
  servers: ServerStats[];
  /**
   * Most requests that waited at once for a free connection slot (summed over workers). Their
   * wait is in `latency`; a large number means the servers (or --connections × --pipeline) could
   * not keep up with the offered load. Optional: results merged or synthesised by other tools may
   * not know it.
   */
  maxQueued?: number;
  /**
   * CPU time the step's servers spent (all their threads, read from /proc on Linux) per request,
   * microseconds. Steadier than throughput on a shared machine: the CI gate can judge on it
   * (compare --gate server_cpu). null when the run did not start the servers (--servers), off
   * Linux, or when a server was restarted during the step; absent in older results.
   */
  serverCpuUsPerRequest?: number | null;
  /**
   * Share of the machine's CPU time (all CPUs) that the hypervisor gave to other tenants during the
   * step, 0..1, from /proc/stat "steal". A trial with much of it measured the neighbours as much
   * as the servers: compare leaves trials above --max_steal out. null when unknown (not Linux);
   * absent in older results.
   */
  stealFraction?: number | null;
  /**
   * Share of the machine's CPU time (all CPUs) that processes other than the bench and its servers
   * took during the step, 0..1, from /proc/<pid>/stat: another tenant of the same machine, which
   * steal does not show. null when unknown (not Linux); absent in older results.
   */
  otherCpuFraction?: number | null;
  /**
   * The step was cut short (Ctrl-C / SIGTERM): it ran durationSec, not the planned time, so its
   * throughput and tail are not those of a full step. Absent (false) in whole steps and older files.
   */
  partial?: boolean;
  client: ClientBoundVerdict;
  /**
   * Runs with --start_at (one part of a run split across generators, or a run started on a clock):
   * when the step was planned to start and when this generator's threads did. Merged runs add the
   * spread across every generator. Absent in runs without --start_at and in older files.
   */
  start?: StepStart;
}

/** When a step started against its plan (bench/run/start-clock.ts). */
export interface StepStart {
  /** The planned instant of this generator's start, ms since the epoch on its own clock. */
  plannedAtMs: number;
  /** When this generator's main thread released the step to its threads, after plannedAtMs, ms. */
  releaseLateMs?: number;
  /** Earliest and latest thread start after plannedAtMs, ms (negative: early), on this generator's clock. */
  firstThreadLateMs: number;
  lastThreadLateMs: number;
  /**
   * Merged parts only: first to last thread start across every generator, ms, with the clock
   * offsets the generators measured between each other taken out. A thread's start is read from
   * its interval reports (the least arrival − time since its start), so it includes how late the
   * main thread handled the promptest of them: an upper bound of the true spread on a busy machine.
   */
  skewMs?: number;
  /** Merged parts only: first to last release by the generators' main threads (clock offsets out), ms: exact, the part of skewMs kvring's timing controls. */
  releaseSkewMs?: number;
}

/** Results of one generator of a run split across several (--generators). */
export interface GeneratorRecord {
  index: number;
  count: number;
  /** Hash of every setting that shapes the load (bench/run/plan-file.ts): parts of one run share it. */
  planId: string;
  /** --start_at, ISO 8601. */
  startAt: string;
  /** Global index of this generator's first worker (its workers are firstWorker … firstWorker + threads − 1). */
  firstWorker: number;
  threads: number;
  /** What this generator saw of the others' clocks before the start; null when it started too late to look. */
  clock: ClockReading | null;
}

/** The other generators' clocks as seen through a shared server key (bench/run/clock-exchange.ts). */
export interface ClockReading {
  /** Server that held the generators' clock keys. */
  via: string;
  rounds: number;
  /**
   * Per generator seen (by index): the least (this clock when reading − its clock when it wrote),
   * ms. This clock is at most that far ahead of the other's; a negative value means it is behind.
   */
  aheadAtMostMs: Record<string, number>;
}

/** A merge of every part of a split run: the parts, their clocks and how well they started together. */
export interface GeneratorsRecord {
  count: number;
  planId: string;
  startAt: string;
  /** --max_start_skew_ms of the parts: steps whose generators started further apart are client_bound. */
  maxStartSkewMs: number;
  /** Largest start skew of any step, ms. */
  worstStartSkewMs: number;
  /** Index of the generator whose clock the offsets are measured against. */
  clockReference: number;
  parts: GeneratorPartSummary[];
}

export interface GeneratorPartSummary {
  index: number;
  machine: string;
  /** This generator's clock minus generator `clockReference`'s, ms: 0 when the readings agree within their precision, null when unknown. */
  clockOffsetMs: number | null;
  /** What the readings allow for that offset, ms ([-Infinity …] written as null). */
  clockOffsetBoundsMs: [number | null, number | null];
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  nodeVersion: string;
  platform: string;
  hostname: string;
}

/** The highest measured throughput that meets the --slo objective, per server count and workload. */
export interface SloResult {
  /** As given, e.g. "p99<1ms". */
  objective: string;
  /** e.g. 99 for p99. */
  percentile: number;
  boundUs: number;
  points: SloPoint[];
}

export interface SloPoint {
  serverCount: number;
  workload: string;
  /** Highest achieved ops/s of an open-loop level whose latency percentile met the bound; null if none did. */
  maxOpsPerSec: number | null;
  /** The latency percentile (µs) at that level. */
  latencyUs: number | null;
  /** The step it came from (the first trial of that level). */
  stepIndex: number | null;
  /** That level was marked client_bound: the figure may be the generator's limit. */
  clientBound: boolean;
}

export interface RunResult {
  schemaVersion: number;
  kvringVersion: string;
  gitCommit: string | null;
  label: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  target: TargetKind;
  /** Addresses of the servers measured, in the order the sweep adds them. */
  servers: string[];
  /** The final settings after defaults and validation: enough to rerun the same measurement. */
  config: Record<string, unknown>;
  steps: StepResult[];
  intervals: IntervalPoint[];
  slo: SloResult | null;
  /** Events during the run (chaos kills/restarts, node down/up), seconds since start. */
  events: { tSec: number; kind: string; detail: string }[];
  /** True when the run was interrupted (Ctrl-C): the steps are those that finished. */
  interrupted: boolean;
  /** --chaos: the schedule and, per kill/stop, time to failover, errors and time to rejoin. Absent or null without --chaos. */
  chaos?: ChaosResult | null;
  /** Where the run's processes ran (--placement) and the limits that puts on its figures. Absent in older files. */
  placement?: PlacementRecord;
  /** This run is one part of a run split across generators (--generators). Absent otherwise. */
  generator?: GeneratorRecord;
  /** This run merges every part of a split run (npm run merge). Absent otherwise. */
  generators?: GeneratorsRecord;
}

/** Where a run's processes go (bench/run/placement.ts decides it). */
export interface PlacementPlan {
  /** Cores the run may use: the affinity mask, capped by the cgroup quota. */
  usableCores: number;
  /** Whether processes are pinned. */
  pinned: boolean;
  /** CPUs of the generator's worker threads and their tickers; null when not pinned. */
  generatorCpus: number[] | null;
  /**
   * CPUs of the bench process's other threads (main thread, V8's and libuv's helpers): every usable
   * CPU but the generator's, so that their bursts do not delay the pacing. Null when not pinned;
   * absent in older files, whose whole bench process was on generatorCpus.
   */
  helperCpus?: number[] | null;
  /** CPUs of server i (start order); null when not pinned. */
  serverCpus: number[][] | null;
  /** The largest server count at which every server and every generator thread has a core of its own (0: none). */
  ownCoresUpToServers: number;
  /** Generator threads beyond the cores the generator may use: they take turns on a core. */
  oversubscribedThreads: number;
  /** One line per limit the figures carry, for the terminal, results.json, index.html and the charts. */
  warnings: string[];
}

/** results.json's account of CPU placement: the plan, and what it was made from. */
export interface PlacementRecord extends PlacementPlan {
  mode: 'auto' | 'off';
  /** CPU ids the run could use (affinity mask) and the cgroup quota in cores (null: none). */
  cpus: number[];
  quotaCores: number | null;
}

export function emptyErrors(): ErrorCounts {
  return { timeout: 0, connection: 0, errorReply: 0, wrongValue: 0 };
}

/** Σ of all error kinds. */
export function totalErrors(e: ErrorCounts): number {
  return e.timeout + e.connection + e.errorReply + e.wrongValue;
}

/** One outage: a kill or stop, the failover, and the restart or cont with the rejoin. */
export interface ChaosOutage {
  action: 'kill' | 'stop';
  server: number;
  address: string;
  atSec: number;
  /** Action → first node-down; null if no worker noticed (no request went to it). */
  failoverMs: number | null;
  /** Requests to that server that failed before the failover (lost in flight, timed out, refused). */
  errorsBeforeFailover: number;
  /** Requests to that server that failed after the failover, while it was down (all servers down, stragglers). */
  errorsWhileDown: number;
  recovery: 'restart' | 'cont' | null;
  recoveryAtSec: number | null;
  /** Recovery → node-up (every worker routes to it again); null if it did not rejoin before the end. */
  rejoinMs: number | null;
}

export interface ChaosResult {
  /** The --chaos text as given. */
  schedule: string;
  /** Where the schedule's times count from: the start of the first measured step, seconds since the run started. */
  clockStartSec: number | null;
  outages: ChaosOutage[];
}
