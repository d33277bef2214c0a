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
}

// ---------------------------------------------------------------------------------------------
// Validation: the documented schema as code. Returns every problem found, [] when valid.

type Problems = string[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkNumber(p: Problems, path: string, value: unknown, opts: { min?: number; integer?: boolean; nullable?: boolean } = {}): void {
  if (value === null && opts.nullable === true) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    p.push(`${path}: expected a finite number, got ${JSON.stringify(value)}`);
    return;
  }
  if (opts.integer === true && !Number.isInteger(value)) p.push(`${path}: expected an integer, got ${value}`);
  if (opts.min !== undefined && value < opts.min) p.push(`${path}: expected >= ${opts.min}, got ${value}`);
}

function checkString(p: Problems, path: string, value: unknown, nullable = false): void {
  if (value === null && nullable) return;
  if (typeof value !== 'string') p.push(`${path}: expected a string, got ${JSON.stringify(value)}`);
}

function checkErrors(p: Problems, path: string, value: unknown): void {
  if (!isRecord(value)) {
    p.push(`${path}: expected an object of error counts`);
    return;
  }
  for (const kind of ERROR_KINDS) checkNumber(p, `${path}.${kind}`, value[kind], { min: 0, integer: true });
}

const PERCENTILE_ORDER = ['minUs', 'p50Us', 'p75Us', 'p90Us', 'p99Us', 'p999Us', 'p9999Us', 'maxUs'] as const;

function checkLatency(p: Problems, path: string, value: unknown): void {
  if (!isRecord(value)) {
    p.push(`${path}: expected a latency summary object`);
    return;
  }
  checkNumber(p, `${path}.count`, value.count, { min: 0, integer: true });
  for (const key of [...PERCENTILE_ORDER, 'meanUs', 'stdevUs'] as const) checkNumber(p, `${path}.${key}`, value[key], { min: 0 });
  for (let i = 1; i < PERCENTILE_ORDER.length; i++) {
    const lo = value[PERCENTILE_ORDER[i - 1]!];
    const hi = value[PERCENTILE_ORDER[i]!];
    if (typeof lo === 'number' && typeof hi === 'number' && lo > hi) {
      p.push(`${path}: ${PERCENTILE_ORDER[i - 1]} (${lo}) > ${PERCENTILE_ORDER[i]} (${hi}): percentiles must not decrease`);
    }
  }
}

function errorTotal(value: unknown): number {
  if (!isRecord(value)) return 0;
  let sum = 0;
  for (const kind of ERROR_KINDS) sum += typeof value[kind] === 'number' ? value[kind] : 0;
  return sum;
}

function checkOperation(p: Problems, path: string, value: unknown): void {
  if (!isRecord(value)) {
    p.push(`${path}: expected operation stats`);
    return;
  }
  checkNumber(p, `${path}.requests`, value.requests, { min: 0, integer: true });
  checkNumber(p, `${path}.misses`, value.misses, { min: 0, integer: true });
  checkErrors(p, `${path}.errors`, value.errors);
  checkLatency(p, `${path}.latency`, value.latency);
  checkLatency(p, `${path}.serviceTime`, value.serviceTime);
  checkString(p, `${path}.latencyHistogram`, value.latencyHistogram);
  checkString(p, `${path}.serviceTimeHistogram`, value.serviceTimeHistogram);
  if (isRecord(value.latency) && isRecord(value.errors) && typeof value.requests === 'number') {
    const replies = value.latency.count;
    const lost = Number(value.errors.timeout) + Number(value.errors.connection);
    if (typeof replies === 'number' && replies + lost !== value.requests) {
      p.push(`${path}: latency.count (${replies}) + timeouts + connection errors (${lost}) != requests (${value.requests})`);
    }
    if (isRecord(value.serviceTime) && value.serviceTime.count !== replies) {
      p.push(`${path}: serviceTime.count (${String(value.serviceTime.count)}) != latency.count (${String(replies)})`);
    }
  }
}

function checkStep(p: Problems, path: string, step: unknown): void {
  if (!isRecord(step)) {
    p.push(`${path}: expected a step object`);
    return;
  }
  checkNumber(p, `${path}.index`, step.index, { min: 0, integer: true });
  checkNumber(p, `${path}.serverCount`, step.serverCount, { min: 1, integer: true });
  checkString(p, `${path}.workload`, step.workload);
  if (step.mode !== 'open' && step.mode !== 'closed') p.push(`${path}.mode: expected "open" or "closed"`);
  if (step.phase !== 'max' && step.phase !== 'level') p.push(`${path}.phase: expected "max" or "level"`);
  checkNumber(p, `${path}.loadFraction`, step.loadFraction, { min: 0, nullable: true });
  checkNumber(p, `${path}.trial`, step.trial, { min: 0, integer: true });
  checkNumber(p, `${path}.targetOpsPerSec`, step.targetOpsPerSec, { min: 0, nullable: true });
  checkNumber(p, `${path}.achievedOpsPerSec`, step.achievedOpsPerSec, { min: 0 });
  checkNumber(p, `${path}.durationSec`, step.durationSec, { min: 0 });
  checkNumber(p, `${path}.requests`, step.requests, { min: 0, integer: true });
  checkNumber(p, `${path}.errorRate`, step.errorRate, { min: 0 });
  checkErrors(p, `${path}.errors`, step.errors);
  if (step.maxQueued !== undefined) checkNumber(p, `${path}.maxQueued`, step.maxQueued, { min: 0, integer: true });
  if (step.serverCpuUsPerRequest !== undefined) checkNumber(p, `${path}.serverCpuUsPerRequest`, step.serverCpuUsPerRequest, { min: 0, nullable: true });
  if (step.stealFraction !== undefined) checkNumber(p, `${path}.stealFraction`, step.stealFraction, { min: 0, nullable: true });
  checkOperation(p, `${path}.total`, step.total);
  if (!isRecord(step.operations)) {
    p.push(`${path}.operations: expected an object keyed by operation`);
  } else {
    let requestSum = 0;
    for (const [op, stats] of Object.entries(step.operations)) {
      if (!(OPERATIONS as readonly string[]).includes(op)) p.push(`${path}.operations: unknown operation "${op}"`);
      checkOperation(p, `${path}.operations.${op}`, stats);
      if (isRecord(stats) && typeof stats.requests === 'number') requestSum += stats.requests;
    }
    if (requestSum !== step.requests) p.push(`${path}: Σ operations[].requests (${requestSum}) != requests (${String(step.requests)})`);
  }
  if (isRecord(step.total) && step.total.requests !== step.requests) {
    p.push(`${path}: total.requests (${String(step.total.requests)}) != requests (${String(step.requests)})`);
  }
  if (typeof step.requests === 'number' && step.requests > 0 && typeof step.errorRate === 'number') {
    const expected = errorTotal(step.errors) / step.requests;
    if (Math.abs(expected - step.errorRate) > 1e-9) p.push(`${path}.errorRate: ${step.errorRate} != Σ errors / requests (${expected})`);
  }
  if (!Array.isArray(step.servers)) {
    p.push(`${path}.servers: expected an array`);
  } else {
    if (step.servers.length !== step.serverCount) p.push(`${path}.servers: ${step.servers.length} entries for serverCount ${String(step.serverCount)}`);
    let serverRequests = 0;
    let share = 0;
    step.servers.forEach((s: unknown, i) => {
      const sp = `${path}.servers[${i}]`;
      if (!isRecord(s)) {
        p.push(`${sp}: expected server stats`);
        return;
      }
      checkString(p, `${sp}.server`, s.server);
      checkNumber(p, `${sp}.requests`, s.requests, { min: 0, integer: true });
      checkErrors(p, `${sp}.errors`, s.errors);
      checkLatency(p, `${sp}.latency`, s.latency);
      checkNumber(p, `${sp}.keyShare`, s.keyShare, { min: 0 });
      if (typeof s.requests === 'number') serverRequests += s.requests;
      if (typeof s.keyShare === 'number') share += s.keyShare;
    });
    if (serverRequests !== step.requests) p.push(`${path}: Σ servers[].requests (${serverRequests}) != requests (${String(step.requests)})`);
    if (typeof step.requests === 'number' && step.requests > 0 && Math.abs(share - 1) > 1e-6) p.push(`${path}: Σ servers[].keyShare is ${share}, not 1`);
  }
  const c = step.client;
  if (!isRecord(c)) {
    p.push(`${path}.client: expected the client-bound verdict`);
  } else {
    if (typeof c.clientBound !== 'boolean') p.push(`${path}.client.clientBound: expected a boolean`);
    if (!Array.isArray(c.causes) || !c.causes.every((x) => typeof x === 'string')) p.push(`${path}.client.causes: expected strings`);
    else if (c.clientBound === true && c.causes.length === 0) p.push(`${path}.client: client-bound without a cause`);
    for (const k of ['sendLatenessP99Us', 'sendLatenessMaxUs', 'maxEventLoopUtilization', 'maxEventLoopDelayMs', 'cpuUsPerRequest'] as const) {
      checkNumber(p, `${path}.client.${k}`, c[k], { min: 0 });
    }
  }
}

/** Checks a parsed results.json against the documented schema and its internal consistency. */
export function validateRunResult(value: unknown): string[] {
  const p: Problems = [];
  if (!isRecord(value)) return ['results: expected a JSON object'];
  if (value.schemaVersion !== SCHEMA_VERSION) p.push(`schemaVersion: expected ${SCHEMA_VERSION}, got ${JSON.stringify(value.schemaVersion)}`);
  checkString(p, 'kvringVersion', value.kvringVersion);
  checkString(p, 'gitCommit', value.gitCommit, true);
  checkString(p, 'label', value.label);
  for (const k of ['startedAt', 'finishedAt'] as const) {
    checkString(p, k, value[k]);
    if (typeof value[k] === 'string' && Number.isNaN(Date.parse(value[k]))) p.push(`${k}: not an ISO date`);
  }
  const m = value.machine;
  if (!isRecord(m)) p.push('machine: expected an object');
  else {
    for (const k of ['cpuModel', 'nodeVersion', 'platform', 'hostname'] as const) checkString(p, `machine.${k}`, m[k]);
    checkNumber(p, 'machine.cores', m.cores, { min: 1, integer: true });
    checkNumber(p, 'machine.memoryBytes', m.memoryBytes, { min: 0 });
  }
  if (value.target !== 'kvring' && value.target !== 'redis' && value.target !== 'external') p.push('target: expected kvring, redis or external');
  if (!Array.isArray(value.servers) || !value.servers.every((s) => typeof s === 'string')) p.push('servers: expected an array of host:port');
  if (!isRecord(value.config)) p.push('config: expected an object');
  if (!Array.isArray(value.steps)) p.push('steps: expected an array');
  else value.steps.forEach((s: unknown, i) => {
    checkStep(p, `steps[${i}]`, s);
    if (isRecord(s) && s.index !== i) p.push(`steps[${i}].index: expected ${i}, got ${String(s.index)}`);
  });
  if (!Array.isArray(value.intervals)) p.push('intervals: expected an array');
  else value.intervals.forEach((pt: unknown, i) => {
    if (!isRecord(pt)) {
      p.push(`intervals[${i}]: expected an object`);
      return;
    }
    for (const k of ['tSec', 'opsPerSec', 'p50Us', 'p99Us'] as const) checkNumber(p, `intervals[${i}].${k}`, pt[k], { min: 0 });
    checkNumber(p, `intervals[${i}].stepIndex`, pt.stepIndex, { min: 0, integer: true });
    checkNumber(p, `intervals[${i}].errors`, pt.errors, { min: 0, integer: true });
    if (typeof pt.p50Us === 'number' && typeof pt.p99Us === 'number' && pt.p50Us > pt.p99Us) p.push(`intervals[${i}]: p50Us > p99Us`);
  });
  if (value.slo !== null) {
    const s = value.slo;
    if (!isRecord(s)) p.push('slo: expected an object or null');
    else {
      checkString(p, 'slo.objective', s.objective);
      checkNumber(p, 'slo.percentile', s.percentile, { min: 0 });
      checkNumber(p, 'slo.boundUs', s.boundUs, { min: 0 });
      if (!Array.isArray(s.points)) p.push('slo.points: expected an array');
    }
  }
  if (!Array.isArray(value.events)) p.push('events: expected an array');
  if (typeof value.interrupted !== 'boolean') p.push('interrupted: expected a boolean');
  if (value.chaos !== undefined && value.chaos !== null) {
    const c = value.chaos;
    if (!isRecord(c)) p.push('chaos: expected an object or null');
    else {
      checkString(p, 'chaos.schedule', c.schedule);
      if (!Array.isArray(c.outages)) p.push('chaos.outages: expected an array');
    }
  }
  return p;
}

/** Zero error counts, for accumulating. */
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
