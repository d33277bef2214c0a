// Synthetic step results for pure tests of the bench's reports (SLO, summary, validation).
import { encodeHistogram, LatencyRecorder, summarize } from '../../bench/histogram.js';
import type { OperationStats, StepResult } from '../../bench/results.js';

export interface SyntheticStep {
  index: number;
  serverCount?: number;
  workload?: string;
  phase?: 'max' | 'level';
  loadFraction?: number | null;
  trial?: number;
  /** Every request takes this long. */
  latencyUs: number;
  achieved: number;
  requests?: number;
  errorRate?: number;
  clientBound?: boolean;
}

function operation(requests: number, latencyUs: number, timeouts: number): OperationStats {
  const rec = new LatencyRecorder();
  for (let i = 0; i < requests - timeouts; i++) rec.record(latencyUs);
  const h = rec.toHistogram();
  return {
    requests,
    errors: { timeout: timeouts, connection: 0, errorReply: 0, wrongValue: 0 },
    misses: 0,
    latency: summarize(h),
    serviceTime: summarize(h),
    latencyHistogram: encodeHistogram(h),
    serviceTimeHistogram: encodeHistogram(h),
  };
}

/** A step that is internally consistent (validateRunResult accepts it). */
export function syntheticStep(s: SyntheticStep): StepResult {
  const requests = s.requests ?? 100;
  const timeouts = Math.round(requests * (s.errorRate ?? 0));
  const op = operation(requests, s.latencyUs, timeouts);
  const serverCount = s.serverCount ?? 1;
  const phase = s.phase ?? 'level';
  const perServer = Math.floor(requests / serverCount);
  return {
    index: s.index,
    serverCount,
    workload: s.workload ?? 'get',
    mode: phase === 'max' ? 'closed' : 'open',
    phase,
    loadFraction: phase === 'max' ? null : (s.loadFraction ?? 1),
    trial: s.trial ?? 0,
    targetOpsPerSec: phase === 'max' ? null : s.achieved,
    achievedOpsPerSec: s.achieved,
    durationSec: 1,
    requests,
    errors: { ...op.errors },
    errorRate: timeouts / requests,
    total: op,
    operations: { get: op },
    servers: Array.from({ length: serverCount }, (_, i) => ({
      server: `127.0.0.1:${7001 + i}`,
      requests: i === 0 ? requests - perServer * (serverCount - 1) : perServer,
      errors: i === 0 ? { ...op.errors } : { timeout: 0, connection: 0, errorReply: 0, wrongValue: 0 },
      latency: op.latency,
      keyShare: 1 / serverCount,
    })),
    maxQueued: 0,
    client: {
      clientBound: s.clientBound === true,
      causes: s.clientBound === true ? ['synthetic'] : [],
      sendLatenessP99Us: 0,
      sendLatenessMaxUs: 0,
      maxEventLoopUtilization: 0.1,
      maxEventLoopDelayMs: 1,
      cpuUsPerRequest: 5,
    },
  };
}
