import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeWorkerReports } from '../bench/run/merge-worker-reports.js';
import { judgeClientBound } from '../bench/run/client-bound.js';
import { LatencyRecorder } from '../bench/histogram.js';
import type { WorkerStepReport } from '../bench/messages.js';
import { planSteps } from '../bench/run/plan.js';
import { SCHEMA_VERSION, type RunResult } from '../bench/results.js';
import { validateRunResult } from '../bench/results-check.js';
import { formatSummary } from '../bench/run/summary.js';
import { parseWorkload } from '../bench/workload.js';
import { syntheticStep } from './helpers/bench-fixtures.js';
import { pacesBySpinning, SPIN_ABOVE_RATE_PER_SEC } from '../bench/worker/ticker.js';

function run(steps = [syntheticStep({ index: 0, phase: 'max', latencyUs: 100, achieved: 1000 }), syntheticStep({ index: 1, loadFraction: 0.5, latencyUs: 80, achieved: 500, serverCount: 2 })]): RunResult {
  return {
    schemaVersion: SCHEMA_VERSION,
    kvringVersion: '0.1.0',
    gitCommit: null,
    label: 'test',
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(1000).toISOString(),
    machine: { cpuModel: 'cpu', cores: 2, memoryBytes: 1, nodeVersion: 'v20', platform: 'linux-x64', hostname: 'h' },
    target: 'kvring',
    servers: ['127.0.0.1:7001', '127.0.0.1:7002'],
    config: {},
    steps,
    intervals: [{ tSec: 1, stepIndex: 0, opsPerSec: 1000, errors: 0, p50Us: 90, p99Us: 100 }],
    slo: null,
    events: [],
    interrupted: false,
  };
}

test('a consistent result validates', () => {
  assert.deepEqual(validateRunResult(run()), []);
  assert.deepEqual(validateRunResult(JSON.parse(JSON.stringify(run()))), []);
});

test('the validator reports counts that do not add up and percentiles that decrease', () => {
  const r = run();
  r.steps[0]!.requests += 1;
  r.steps[1]!.total.latency.p99Us = r.steps[1]!.total.latency.p50Us - 1;
  r.steps[1]!.servers[0]!.keyShare = 0.9;
  const problems = validateRunResult(r).join('\n');
  assert.match(problems, /Σ operations\[\]\.requests/);
  assert.match(problems, /steps\[1\]\.total\.latency: p90Us \(80\) > p99Us \(79\): percentiles must not decrease/);
  assert.match(problems, /keyShare/);
  assert.deepEqual(validateRunResult({ schemaVersion: 99 }).length > 3, true);
});

function workerReport(worker: number, latencies: number[], servers: number, extra: Partial<WorkerStepReport> = {}): WorkerStepReport {
  const rec = new LatencyRecorder();
  for (const v of latencies) rec.record(v);
  const perServer = latencies.length / servers;
  return {
    stepIndex: 0,
    workerIndex: worker,
    durationMs: 1000,
    requests: latencies.length + 1,
    replies: latencies.length,
    operations: {
      get: { requests: latencies.length + 1, errors: { timeout: 1, connection: 0, errorReply: 0, wrongValue: 0 }, misses: 2, latency: rec.snapshot(), serviceTime: rec.snapshot() },
    },
    servers: Array.from({ length: servers }, (_, s) => ({
      requests: perServer + (s === 0 ? 1 : 0),
      errors: { timeout: s === 0 ? 1 : 0, connection: 0, errorReply: 0, wrongValue: 0 },
      latency: rec.snapshot(),
      keys: perServer + (s === 0 ? 1 : 0),
    })),
    sendLateness: new LatencyRecorder().snapshot(),
    maxEventLoopUtilization: 0.2,
    maxEventLoopDelayMs: 3,
    planned: latencies.length + 1,
    issued: latencies.length + 1,
    maxBacklog: 0,
    aborted: false,
    spun: false,
    deleteCursor: 0,
    threadCpuMs: 400,
    threadWaitMs: 5,
    ...extra,
  };
}

test('workers\' reports merge into one step whose percentiles are those of all requests together', () => {
  const planned = planSteps({ serverCounts: [2], workloads: [parseWorkload('get')], mode: 'open', loadLevels: [0.5], rateOpsPerSec: 1000, trials: 1 })[0]!;
  const fast = Array.from({ length: 990 }, () => 100);
  const slow = Array.from({ length: 10 }, () => 50_000);
  const { step, histograms } = mergeWorkerReports(
    { index: 0, planned, servers: ['127.0.0.1:7001', '127.0.0.1:7002'], targetOpsPerSec: 500, cpuUs: 2004, serverCpuUs: 5010, stealFraction: 0.012345, otherCpuFraction: 0.03, thresholds: { latenessUs: 1000, eventLoopUtilization: 0.95, runQueueWait: 0.1 } },
    [workerReport(0, fast, 2), workerReport(1, slow, 2)],
  );
  assert.equal(step.requests, 1002);
  assert.equal(step.errors.timeout, 2);
  assert.equal(step.total.latency.count, 1000);
  assert.equal(step.total.misses, 4);
  assert.ok(step.total.latency.p50Us < 200);
  // 1% of all requests took 50 ms: p99 sits at the boundary, p99.9 among the slow ones.
  assert.ok(step.total.latency.p999Us >= 49_000);
  assert.equal(step.achievedOpsPerSec, 1000);
  assert.equal(step.client.cpuUsPerRequest, 2);
  assert.equal(step.serverCpuUsPerRequest, 5, 'servers\' CPU per request sent');
  assert.equal(step.stealFraction, 0.0123);
  assert.equal(step.servers.length, 2);
  assert.equal(step.servers[0]!.requests + step.servers[1]!.requests, step.requests);
  assert.ok(Math.abs(step.servers[0]!.keyShare + step.servers[1]!.keyShare - 1) < 1e-9);
  assert.equal(histograms.latency.total!.totalCount, 1000);
  assert.deepEqual(validateRunResult(run([step])), []);
});

test('client_bound: late sends, a saturated worker or missing requests mark a step, with the cause', () => {
  const thread = { worker: 0, opsPerSec: 100, sendLatenessP99Us: 50, cpuFraction: 0.3, runQueueWaitFraction: 0.01 };
  const healthy = { mode: 'open' as const, sendLatenessP99Us: 50, sendLatenessMaxUs: 300, maxEventLoopUtilization: 0.5, maxEventLoopDelayMs: 2, cpuUsPerRequest: 5, planned: 100, issued: 100, aborted: false, spun: false, threads: [thread] };
  const t = { latenessUs: 1000, eventLoopUtilization: 0.95, runQueueWait: 0.1 };
  assert.equal(judgeClientBound(healthy, t).clientBound, false);
  const late = judgeClientBound({ ...healthy, sendLatenessP99Us: 4100 }, t);
  assert.equal(late.clientBound, true);
  assert.match(late.causes[0]!, /send lateness 4100 µs > 1000 µs/);
  assert.match(judgeClientBound({ ...healthy, maxEventLoopUtilization: 0.97 }, t).causes[0]!, /97% busy/);
  assert.match(judgeClientBound({ ...healthy, issued: 90 }, t).causes[0]!, /issued 90 of 100/);
  assert.equal(judgeClientBound({ ...healthy, mode: 'closed', sendLatenessP99Us: 5000 }, t).clientBound, false, 'closed loop has no schedule');
  assert.equal(judgeClientBound(healthy, t).pacing, 'sleep');
});

test('client_bound: a generator that paced by spinning is judged by its lateness, not by its always-busy event loop', () => {
  const thread = { worker: 0, opsPerSec: 120_000, sendLatenessP99Us: 60, cpuFraction: 1, runQueueWaitFraction: 0.01 };
  const spinning = { mode: 'open' as const, sendLatenessP99Us: 60, sendLatenessMaxUs: 400, maxEventLoopUtilization: 1, maxEventLoopDelayMs: 1, cpuUsPerRequest: 8, planned: 100, issued: 100, aborted: false, spun: true, threads: [thread] };
  const t = { latenessUs: 1000, eventLoopUtilization: 0.95, runQueueWait: 0.1 };
  const onTime = judgeClientBound(spinning, t);
  assert.equal(onTime.clientBound, false, onTime.causes.join('; '));
  assert.equal(onTime.pacing, 'spin');
  const behind = judgeClientBound({ ...spinning, sendLatenessP99Us: 2500 }, t);
  assert.equal(behind.clientBound, true);
  assert.match(behind.causes.join('; '), /send lateness 2500 µs > 1000 µs/);
  assert.doesNotMatch(behind.causes.join('; '), /busy/);
});

test('a worker thread spins only above 80k requests/s, and only on a core of its own', () => {
  assert.equal(pacesBySpinning(1000 / 100_000, true), true);
  assert.equal(pacesBySpinning(1000 / 100_000, false), false, 'a core shared with servers is never spun on');
  assert.equal(pacesBySpinning(1000 / 50_000, true), false, 'below the threshold the thread sleeps between requests');
  assert.equal(pacesBySpinning(1000 / SPIN_ABOVE_RATE_PER_SEC, true), false);
});

test('client_bound: a worker thread kept off the CPU is caught even though its event loop looks idle', () => {
  const t = { latenessUs: 1000, eventLoopUtilization: 0.95, runQueueWait: 0.1 };
  const thread = (worker: number, wait: number | null) => ({ worker, opsPerSec: 1000, sendLatenessP99Us: 0, cpuFraction: 0.1, runQueueWaitFraction: wait });
  const base = { mode: 'closed' as const, sendLatenessP99Us: 0, sendLatenessMaxUs: 0, maxEventLoopUtilization: 0.12, maxEventLoopDelayMs: 2, cpuUsPerRequest: 5, planned: 0, issued: 1000, aborted: false, spun: false };
  const starved = judgeClientBound({ ...base, threads: [thread(0, 0.02), thread(1, 0.85), thread(2, 0.6)] }, t);
  assert.equal(starved.clientBound, true);
  assert.match(starved.causes[0]!, /2 of 3 client\(s\) ran on a worker thread that waited for a CPU up to 85% of the step \(> 10%\)/);
  assert.equal(starved.maxRunQueueWaitFraction, 0.85);
  assert.equal(judgeClientBound({ ...base, threads: [thread(0, 0.02)] }, t).clientBound, false);
  const unknown = judgeClientBound({ ...base, threads: [thread(0, null)] }, t);
  assert.equal(unknown.clientBound, false, 'no schedstat (not Linux): the rule cannot fire');
  assert.equal(unknown.maxRunQueueWaitFraction, null);
});

test('the summary is a table of every step with its verdicts', () => {
  const max = { ...syntheticStep({ index: 0, phase: 'max', latencyUs: 100, achieved: 1000 }), serverCpuUsPerRequest: 7.25, stealFraction: 0.21 };
  const r = run([max, syntheticStep({ index: 1, loadFraction: 0.5, latencyUs: 1500, achieved: 500, clientBound: true })]);
  const text = formatSummary(r, '/tmp/run');
  assert.match(text, /srv\s+workload\s+step\s+target\/s\s+ops\/s\s+cpu\/req\s+p50\s+p99/);
  assert.match(text, /1\s+get\s+max\s+-\s+1000\s+7\.3µs\s+100µs/);
  assert.match(text, /"cpu\/req": CPU time the servers spent per request/);
  assert.match(text, /steal: in 1 step\(s\) the hypervisor gave more than 5% .* \(worst 21%\)/);
  assert.match(text, /50%.*1\.50ms.*client_bound/);
  assert.match(text, /client_bound: 1 step\(s\)/);
  assert.match(text, /Results: \/tmp\/run\/results\.json/);
});
