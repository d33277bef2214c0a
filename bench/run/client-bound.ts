// Is a step's result the server's limit or the load generator's? Pure: the generator's own
// measurements in, a verdict with its causes out. The rules (manual: "client_bound"):
//  1. open loop: the p99 of send lateness (how late the generator issued requests against their
//     schedule slots, not counting waits for a free connection) exceeds --client_bound_lateness_us;
//  2. any step: a worker thread waited for a CPU (run queue, from the kernel's per-thread
//     scheduler statistics) for more than --client_bound_wait of the step: it was kept off the CPU,
//     which its event loop cannot see — a starved thread looks idle, not busy;
//  3. any step: a worker's event loop was busier than --client_bound_elu in some interval
//     (the thread had no idle time left, so it could not have sent faster) — except in a step
//     the generator paced by spinning, whose loop never idles by design: there rule 1 decides;
//  4. open loop: the generator issued fewer requests than its schedule planned (not aborted).

import type { ClientBoundVerdict, LoadMode, ThreadHealth } from '../results.js';

export interface GeneratorHealth {
  mode: LoadMode;
  sendLatenessP99Us: number;
  sendLatenessMaxUs: number;
  maxEventLoopUtilization: number;
  maxEventLoopDelayMs: number;
  cpuUsPerRequest: number;
  planned: number;
  issued: number;
  aborted: boolean;
  /** Some worker thread paced the step by spinning (see bench/worker/ticker.ts). */
  spun: boolean;
  /** One entry per client (clients that share a worker thread report that thread's waits). */
  threads: ThreadHealth[];
}

export interface ClientBoundThresholds {
  latenessUs: number;
  /** 0..1 */
  eventLoopUtilization: number;
  /** Share of the step a worker thread may wait for a CPU (0..1). */
  runQueueWait: number;
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;

export function judgeClientBound(h: GeneratorHealth, t: ClientBoundThresholds): ClientBoundVerdict {
  const causes: string[] = [];
  if (h.mode === 'open' && h.sendLatenessP99Us > t.latenessUs) {
    causes.push(`p99 send lateness ${Math.round(h.sendLatenessP99Us)} µs > ${t.latenessUs} µs: the generator fell behind its own schedule`);
  }
  const waits = h.threads.map((w) => w.runQueueWaitFraction).filter((w): w is number => w !== null);
  const maxWait = waits.length === 0 ? null : Math.max(...waits);
  if (maxWait !== null && maxWait > t.runQueueWait) {
    const starved = h.threads.filter((w) => w.runQueueWaitFraction !== null && w.runQueueWaitFraction > t.runQueueWait);
    causes.push(
      `${starved.length} of ${h.threads.length} client(s) ran on a worker thread that waited for a CPU up to ${pct(maxWait)} of the step (> ${pct(t.runQueueWait)}): ` +
        'the generator was kept off the CPU (more threads than free cores, or the servers took them)',
    );
  }
  if (!h.spun && h.maxEventLoopUtilization >= t.eventLoopUtilization) {
    causes.push(
      `worker event loop ${Math.round(h.maxEventLoopUtilization * 100)}% busy (>= ${Math.round(t.eventLoopUtilization * 100)}%): the generator saturated its CPU`,
    );
  }
  if (h.mode === 'open' && !h.aborted && h.issued < h.planned) {
    causes.push(`issued ${h.issued} of ${h.planned} scheduled requests`);
  }
  return {
    clientBound: causes.length > 0,
    causes,
    sendLatenessP99Us: h.sendLatenessP99Us,
    sendLatenessMaxUs: h.sendLatenessMaxUs,
    maxEventLoopUtilization: round3(h.maxEventLoopUtilization),
    maxEventLoopDelayMs: round3(h.maxEventLoopDelayMs),
    cpuUsPerRequest: round3(h.cpuUsPerRequest),
    pacing: h.spun ? 'spin' : 'sleep',
    maxRunQueueWaitFraction: maxWait === null ? null : round3(maxWait),
    threads: h.threads,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
