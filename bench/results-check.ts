// The validator of results.json: every file report, compare and merge read, and every run the
// bench writes in its tests, is checked here — fields present with the right types, counts that
// add up, percentiles in order — so a truncated or hand-edited file is refused with the path of
// the first wrong field instead of drawing a wrong chart. The types themselves are in results.ts.

import { ERROR_KINDS, OPERATIONS, SCHEMA_VERSION } from './results.js';

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
  if (step.partial !== undefined && typeof step.partial !== 'boolean') p.push(`${path}.partial: expected a boolean`);
  if (step.otherCpuFraction !== undefined) checkNumber(p, `${path}.otherCpuFraction`, step.otherCpuFraction, { min: 0, nullable: true });
  if (step.start !== undefined) checkStepStart(p, `${path}.start`, step.start);
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
    if (c.pacing !== undefined && c.pacing !== 'sleep' && c.pacing !== 'spin') p.push(`${path}.client.pacing: expected "sleep" or "spin"`);
    if (c.maxRunQueueWaitFraction !== undefined) checkNumber(p, `${path}.client.maxRunQueueWaitFraction`, c.maxRunQueueWaitFraction, { min: 0, nullable: true });
    if (c.threads !== undefined) {
      if (!Array.isArray(c.threads)) p.push(`${path}.client.threads: expected an array`);
      else {
        c.threads.forEach((t: unknown, i: number) => {
          const tp = `${path}.client.threads[${i}]`;
          if (!isRecord(t)) {
            p.push(`${tp}: expected an object`);
            return;
          }
          checkNumber(p, `${tp}.worker`, t.worker, { min: 0, integer: true });
          checkNumber(p, `${tp}.opsPerSec`, t.opsPerSec, { min: 0 });
          checkNumber(p, `${tp}.sendLatenessP99Us`, t.sendLatenessP99Us, { min: 0 });
          checkNumber(p, `${tp}.cpuFraction`, t.cpuFraction, { min: 0, nullable: true });
          checkNumber(p, `${tp}.runQueueWaitFraction`, t.runQueueWaitFraction, { min: 0, nullable: true });
        });
      }
    }
  }
}

function checkStepStart(p: Problems, path: string, value: unknown): void {
  if (!isRecord(value)) {
    p.push(`${path}: expected an object`);
    return;
  }
  checkNumber(p, `${path}.plannedAtMs`, value.plannedAtMs, { min: 0 });
  if (value.releaseLateMs !== undefined) checkNumber(p, `${path}.releaseLateMs`, value.releaseLateMs);
  checkNumber(p, `${path}.firstThreadLateMs`, value.firstThreadLateMs);
  checkNumber(p, `${path}.lastThreadLateMs`, value.lastThreadLateMs);
  if (typeof value.firstThreadLateMs === 'number' && typeof value.lastThreadLateMs === 'number' && value.firstThreadLateMs > value.lastThreadLateMs) {
    p.push(`${path}: firstThreadLateMs (${value.firstThreadLateMs}) > lastThreadLateMs (${value.lastThreadLateMs})`);
  }
  if (value.skewMs !== undefined) checkNumber(p, `${path}.skewMs`, value.skewMs, { min: 0 });
  if (value.releaseSkewMs !== undefined) checkNumber(p, `${path}.releaseSkewMs`, value.releaseSkewMs, { min: 0 });
}

/** The `generator` block of one part of a split run. */
function checkGenerator(p: Problems, value: unknown): void {
  if (!isRecord(value)) {
    p.push('generator: expected an object');
    return;
  }
  checkNumber(p, 'generator.count', value.count, { min: 1, integer: true });
  checkNumber(p, 'generator.index', value.index, { min: 0, integer: true });
  if (typeof value.index === 'number' && typeof value.count === 'number' && value.index >= value.count) p.push(`generator.index: ${value.index} is not below generator.count ${value.count}`);
  checkString(p, 'generator.planId', value.planId);
  checkString(p, 'generator.startAt', value.startAt);
  if (typeof value.startAt === 'string' && Number.isNaN(Date.parse(value.startAt))) p.push('generator.startAt: not an ISO date');
  checkNumber(p, 'generator.firstWorker', value.firstWorker, { min: 0, integer: true });
  checkNumber(p, 'generator.threads', value.threads, { min: 1, integer: true });
  const c = value.clock;
  if (c !== null) {
    if (!isRecord(c)) p.push('generator.clock: expected an object or null');
    else {
      checkString(p, 'generator.clock.via', c.via);
      checkNumber(p, 'generator.clock.rounds', c.rounds, { min: 0, integer: true });
      if (!isRecord(c.aheadAtMostMs)) p.push('generator.clock.aheadAtMostMs: expected an object keyed by generator index');
      else for (const [k, v] of Object.entries(c.aheadAtMostMs)) checkNumber(p, `generator.clock.aheadAtMostMs.${k}`, v);
    }
  }
}

/** The `generators` block of a merged split run. */
function checkGenerators(p: Problems, value: unknown): void {
  if (!isRecord(value)) {
    p.push('generators: expected an object');
    return;
  }
  checkNumber(p, 'generators.count', value.count, { min: 1, integer: true });
  checkString(p, 'generators.planId', value.planId);
  checkString(p, 'generators.startAt', value.startAt);
  checkNumber(p, 'generators.maxStartSkewMs', value.maxStartSkewMs, { min: 0 });
  checkNumber(p, 'generators.worstStartSkewMs', value.worstStartSkewMs, { min: 0 });
  checkNumber(p, 'generators.clockReference', value.clockReference, { min: 0, integer: true });
  if (!Array.isArray(value.parts)) p.push('generators.parts: expected an array');
  else if (typeof value.count === 'number' && value.parts.length !== value.count) p.push(`generators.parts: ${value.parts.length} entries for count ${value.count}`);
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
  if (value.placement !== undefined) {
    const pl = value.placement;
    if (!isRecord(pl)) p.push('placement: expected an object');
    else {
      if (pl.mode !== 'auto' && pl.mode !== 'off') p.push('placement.mode: expected "auto" or "off"');
      checkNumber(p, 'placement.usableCores', pl.usableCores, { min: 1, integer: true });
      checkNumber(p, 'placement.ownCoresUpToServers', pl.ownCoresUpToServers, { min: 0, integer: true });
      checkNumber(p, 'placement.oversubscribedThreads', pl.oversubscribedThreads, { min: 0, integer: true });
      if (typeof pl.pinned !== 'boolean') p.push('placement.pinned: expected a boolean');
      if (!Array.isArray(pl.warnings) || !pl.warnings.every((w) => typeof w === 'string')) p.push('placement.warnings: expected strings');
    }
  }
  if (value.generator !== undefined) checkGenerator(p, value.generator);
  if (value.generators !== undefined) checkGenerators(p, value.generators);
  return p;
}

/** Zero error counts, for accumulating. */
