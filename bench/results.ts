// The results of one bench run: plain data, written as results.json, read back by `report`,
// `compare` and `merge`. Every renderer (terminal table, charts, HTML, markdown) is a function of
// a RunResult; nothing else is shared between the harness and its reports.
//
// Units are in the field names: ...Us = microseconds, ...Ms = milliseconds, ...PerSec = per second.
// Bump SCHEMA_VERSION on any incompatible change and document it in README ("results.json").

export const SCHEMA_VERSION = 1;

export type Operation = 'put' | 'get' | 'delete';
export type LoadMode = 'open' | 'closed';
export type TargetKind = 'kvring' | 'redis' | 'external';

/** Error kinds are counted separately and never dropped from the denominators. */
export interface ErrorCounts {
  /** No reply within the request timeout. */
  timeout: number;
  /** Connection refused, reset or closed before the reply. */
  connection: number;
  /** The server answered with an error reply (`-ERR ...`). */
  errorReply: number;
  /** --verify: a GET returned something other than the value last written, or hit after a DELETE. */
  wrongValue: number;
}

/** Latency percentiles of one histogram, in microseconds. */
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
  requests: number;
  errors: ErrorCounts;
  /** From each request's intended send time (coordinated omission corrected). */
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
  latency: LatencySummary;
  /** Share of the step's keys that the ring mapped to this server (0..1). */
  keyShare: number;
}

/** Why a step's numbers may describe the load generator rather than the server. */
export interface ClientBoundVerdict {
  clientBound: boolean;
  /** Human-readable causes, e.g. "p99 send lateness 4.1 ms > 1 ms", "worker event loop 97% busy". */
  causes: string[];
  /** How late requests left against their schedule, microseconds. */
  sendLatenessP99Us: number;
  /** Highest worker event-loop utilisation seen in the step (0..1). */
  maxEventLoopUtilization: number;
  /** Longest worker event-loop delay seen, milliseconds. */
  maxEventLoopDelayMs: number;
}

/** One second (interval) of the run, for the timeline. */
export interface IntervalPoint {
  /** Seconds since the run started. */
  tSec: number;
  stepIndex: number;
  opsPerSec: number;
  errors: number;
  p50Us: number;
  p99Us: number;
}

export interface StepResult {
  index: number;
  /** Number of servers in the ring for this step. */
  serverCount: number;
  /** Workload label: 'put' | 'get' | 'delete' or the mix name (e.g. 'mix-get90-put10', 'ycsb-a'). */
  workload: string;
  mode: LoadMode;
  /** 'max' = closed-loop saturation probe; 'level' = open-loop step at a fraction of it. */
  phase: 'max' | 'level';
  /** Offered load as a fraction of the measured maximum (open loop), null for closed loop. */
  loadFraction: number | null;
  /** Trial number (0-based) when --trials repeats the measurement. */
  trial: number;
  targetOpsPerSec: number | null;
  achievedOpsPerSec: number;
  durationSec: number;
  requests: number;
  errors: ErrorCounts;
  /** All operations of the step together. */
  total: OperationStats;
  /** Per operation (one entry for single-op workloads, several for mixes). */
  operations: Partial<Record<Operation, OperationStats>>;
  servers: ServerStats[];
  client: ClientBoundVerdict;
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
  objective: string;
  /** e.g. 99 for p99. */
  percentile: number;
  boundUs: number;
  points: { serverCount: number; workload: string; maxOpsPerSec: number | null; stepIndex: number | null }[];
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
  /** The final settings after defaults and validation: enough to rerun the same measurement. */
  config: Record<string, unknown>;
  steps: StepResult[];
  intervals: IntervalPoint[];
  slo: SloResult | null;
  /** Events during the run (chaos kills/restarts, node down/up), seconds since start. */
  events: { tSec: number; kind: string; detail: string }[];
}
