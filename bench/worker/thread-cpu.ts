// How much of a step the calling thread ran and how long it waited for a CPU, from the kernel's
// per-thread scheduler statistics (/proc/thread-self/schedstat: ns on the CPU, ns waiting in the
// run queue, time slices). A starved generator thread looks idle to its event loop (it is not
// running, so it is not busy), which is why the run-queue wait, not event-loop utilisation, tells
// whether it was kept off the CPU. Linux only; null elsewhere.

import { readFileSync } from 'node:fs';

export interface ThreadCpuSample {
  /** Time the thread ran, ns (cumulative). */
  cpuNs: number;
  /** Time the thread was runnable but waited for a CPU, ns (cumulative). */
  waitNs: number;
}

/** Parses a schedstat line "cpu_ns wait_ns slices". */
export function parseSchedstat(text: string): ThreadCpuSample | null {
  const [cpu, wait] = text.trim().split(/\s+/).map(Number);
  return Number.isFinite(cpu) && Number.isFinite(wait) ? { cpuNs: cpu!, waitNs: wait! } : null;
}

/** The calling thread's counters now, or null where the kernel does not provide them. */
export function sampleThreadCpu(): ThreadCpuSample | null {
  try {
    return parseSchedstat(readFileSync('/proc/thread-self/schedstat', 'latin1'));
  } catch {
    // No /proc (not Linux) or no schedstat (kernel without CONFIG_SCHED_INFO): unknown.
    return null;
  }
}
