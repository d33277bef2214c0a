import { SCHEMA_VERSION, type ErrorCounts, type IntervalPoint, type LatencySummary, type OperationStats, type Operation, type RunResult, type SloPoint, type StepResult } from '../../bench/results.js';
import { createHistogram, encodeHistogram, summarize } from '../../bench/histogram.js';
import { seededRandom } from '../../bench/prng.js';

// Synthetic RunResults for report, compare and merge tests: a queueing-shaped latency model
// (latency grows like 1 / (1 - utilisation) towards each server count's capacity) with real
// encoded HdrHistograms, so charts, statistics and merging see the same shapes a run produces.
// Deterministic for a given seed.

export interface FixtureOptions {
  serverCounts?: number[];
  workloads?: string[];
  /** Open-loop levels as fractions of the measured maximum. */
  fractions?: number[];
  trials?: number;
  /** Capacity of one server, ops/s; n servers reach n^0.9 times it. */
  capacityPerServer?: number;
  /** Relative per-request cost increase: 0.1 = every request 10% slower (capacity / 1.1). */
  slowdown?: number;
  /** Relative standard deviation of the trial-to-trial noise on throughput and latency. */
  noise?: number;
  seed?: number;
  /** Steps at or above this load fraction are marked client-bound. */
  clientBoundFrom?: number;
  /** Adds an SLO result (p99 ≤ boundUs). */
  sloBoundUs?: number;
  /** Samples per histogram: small keeps tests fast, the shape is what matters. */
  samplesPerStep?: number;
  label?: string;
  /** Seconds each step lasts (timeline length). */
  stepDurationSec?: number;
}

const NO_ERRORS: ErrorCounts = { timeout: 0, connection: 0, errorReply: 0, wrongValue: 0 };

/** Operations a workload label runs, with their share of requests. */
function operationsOf(workload: string): [Operation, number][] {
  if (workload === 'get' || workload === 'put' || workload === 'delete') return [[workload, 1]];
  return [
    ['get', 0.9],
    ['put', 0.1],
  ];
}

/**
 * Histogram of `count` values from a shifted exponential (base µs plus a queueing tail of mean
 * `tailUs`), drawn at `samples` evenly spaced quantiles whose weights add up to `count` exactly.
 */
function latencyHistogram(baseUs: number, tailUs: number, samples: number, count: number): { encoded: string; summary: LatencySummary } {
  const h = createHistogram();
  const n = Math.max(1, Math.min(samples, count));
  for (let i = 0; i < n; i++) {
    const q = (i + 0.5) / n;
    const weight = Math.floor(((i + 1) * count) / n) - Math.floor((i * count) / n);
    if (weight > 0) h.recordValueWithCount(Math.max(1, Math.round(baseUs + tailUs * -Math.log(1 - q))), weight);
  }
  return { encoded: encodeHistogram(h), summary: summarize(h) };
}

function opStats(requests: number, baseUs: number, tailUs: number, samples: number): OperationStats {
  const latency = latencyHistogram(baseUs, tailUs, samples, requests);
  const service = latencyHistogram(baseUs, tailUs * 0.6, samples, requests);
  return {
    requests,
    errors: { ...NO_ERRORS },
    misses: 0,
    latency: latency.summary,
    serviceTime: service.summary,
    latencyHistogram: latency.encoded,
    serviceTimeHistogram: service.encoded,
  };
}

/** A complete, internally consistent RunResult. */
export function makeRunResult(options: FixtureOptions = {}): RunResult {
  const serverCounts = options.serverCounts ?? [1, 2, 3];
  const workloads = options.workloads ?? ['get'];
  const fractions = options.fractions ?? [0.2, 0.4, 0.6, 0.8, 0.9, 0.95];
  const trials = options.trials ?? 1;
  const capacity = options.capacityPerServer ?? 40_000;
  const slowdown = options.slowdown ?? 0;
  const noise = options.noise ?? 0;
  const samples = options.samplesPerStep ?? 400;
  const stepDurationSec = options.stepDurationSec ?? 2;
  const rnd = seededRandom(options.seed ?? 1);
  // Box–Muller normal deviates from the seeded generator.
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const jitter = (): number => Math.max(0.2, 1 + noise * gauss());

  const steps: StepResult[] = [];
  const intervals: IntervalPoint[] = [];
  let tSec = 0;
  const addStep = (step: Omit<StepResult, 'index'>): void => {
    const index = steps.length;
    steps.push({ index, ...step });
    for (let s = 0; s < stepDurationSec; s++) {
      intervals.push({
        tSec: tSec + s + 1,
        stepIndex: index,
        opsPerSec: Math.round(step.achievedOpsPerSec * (1 + 0.02 * Math.sin(tSec + s))),
        errors: step.errors.timeout + step.errors.connection > 0 && s === 0 ? step.errors.timeout + step.errors.connection : 0,
        p50Us: step.total.latency.p50Us,
        p99Us: step.total.latency.p99Us,
      });
    }
    tSec += stepDurationSec;
  };

  for (let trial = 0; trial < trials; trial++) {
    for (const workload of workloads) {
      for (const n of serverCounts) {
        const maxOps = ((capacity * n ** 0.9) / (1 + slowdown)) * jitter();
        const serviceUs = 25 * (1 + slowdown);
        const build = (phase: 'max' | 'level', fraction: number | null, achieved: number, rho: number): void => {
          const scale = jitter();
          const baseUs = (60 + serviceUs) * scale;
          const tailUs = ((serviceUs * rho) / Math.max(0.02, 1 - rho)) * 4 * scale;
          const requests = Math.round(achieved * stepDurationSec);
          const operations: Partial<Record<Operation, OperationStats>> = {};
          let assigned = 0;
          const ops = operationsOf(workload);
          ops.forEach(([op, share], i) => {
            // The last operation takes the remainder so the per-operation requests add up exactly.
            const opRequests = i === ops.length - 1 ? requests - assigned : Math.round(requests * share);
            assigned += opRequests;
            operations[op] = opStats(opRequests, baseUs * (op === 'put' ? 1.1 : 1), tailUs, samples);
          });
          const total = opStats(requests, baseUs, tailUs, samples);
          const clientBound = fraction !== null && options.clientBoundFrom !== undefined && fraction >= options.clientBoundFrom;
          const servers = Array.from({ length: n }, (_, i) => ({
            server: `127.0.0.1:${7000 + i}`,
            requests: Math.floor(((i + 1) * requests) / n) - Math.floor((i * requests) / n),
            errors: { ...NO_ERRORS },
            latency: total.latency,
            keyShare: 1 / n,
          }));
          addStep({
            serverCount: n,
            workload,
            mode: phase === 'max' ? 'closed' : 'open',
            phase,
            loadFraction: fraction,
            trial,
            targetOpsPerSec: fraction === null ? null : Math.round(fraction * maxOps),
            achievedOpsPerSec: achieved,
            durationSec: stepDurationSec,
            requests,
            errors: { ...NO_ERRORS },
            errorRate: 0,
            total,
            operations,
            servers,
            client: {
              clientBound,
              causes: clientBound ? ['p99 send lateness 2.1 ms > 1 ms'] : [],
              sendLatenessP99Us: clientBound ? 2100 : 150,
              sendLatenessMaxUs: clientBound ? 9000 : 400,
              cpuUsPerRequest: 6,
              maxEventLoopUtilization: clientBound ? 0.97 : 0.6,
              maxEventLoopDelayMs: clientBound ? 12 : 2,
            },
          });
        };
        build('max', null, maxOps, 0.97);
        for (const f of fractions) build('level', f, f * maxOps * (f > 0.9 ? 0.995 : 1), f);
      }
    }
  }

  const result: RunResult = {
    schemaVersion: SCHEMA_VERSION,
    kvringVersion: '0.1.0',
    gitCommit: 'abc1234',
    label: options.label ?? 'fixture',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: new Date(Date.parse('2026-01-01T00:00:00.000Z') + tSec * 1000).toISOString(),
    machine: { cpuModel: 'Synthetic CPU @ 3.0GHz', cores: 2, memoryBytes: 4 * 2 ** 30, nodeVersion: 'v20.0.0', platform: 'linux', hostname: 'fixture-host' },
    target: 'kvring',
    servers: Array.from({ length: Math.max(...serverCounts) }, (_, i) => `127.0.0.1:${7000 + i}`),
    // The keys bench/run/config.ts writes (a subset): the chart subtitles read them.
    config: { serverCounts, trials, mode: 'open', numThreads: 1, connections: 8, pipeline: 1, valueSizeMin: 32, valueSizeMax: 32, keySpace: 10000, keyDist: 'uniform', stepDurationSec, maxErrorRate: 0.01 },
    steps,
    intervals,
    slo: null,
    events: [{ tSec: Math.round(tSec / 2), kind: 'node-down', detail: '127.0.0.1:7001 killed (chaos)' }],
    interrupted: false,
  };
  if (options.sloBoundUs !== undefined) {
    const bound = options.sloBoundUs;
    const points: SloPoint[] = [];
    for (const workload of workloads) {
      for (const n of serverCounts) {
        const ok = steps.filter((s) => s.trial === 0 && s.workload === workload && s.serverCount === n && s.phase === 'level' && s.total.latency.p99Us <= bound);
        const best = ok.sort((a, b) => b.achievedOpsPerSec - a.achievedOpsPerSec)[0];
        points.push({
          serverCount: n,
          workload,
          maxOpsPerSec: best ? best.achievedOpsPerSec : null,
          latencyUs: best ? best.total.latency.p99Us : null,
          stepIndex: best ? best.index : null,
          clientBound: best ? best.client.clientBound : false,
        });
      }
    }
    result.slo = { objective: `p99<=${bound / 1000}ms`, percentile: 99, boundUs: bound, points };
  }
  return result;
}
