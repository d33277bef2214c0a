// Where each process of a run may execute: the servers the bench starts and its own generator
// threads. Pure: the machine's CPU budget and the run's shape in, a plan and its warnings out, so
// the rule is tested exactly (run/cpu-budget.ts reads the budget, run/targets.ts applies it).
//
// The rule: a server or a generator thread measures itself only when it has a core of its own.
// When the budget allows (servers + generator threads ≤ usable cores), the bench pins them to
// disjoint cores; otherwise nothing is pinned (the scheduler spreads what it can) and the run says,
// before the first step and in every report, that its figures measure this machine's sharing.

import type { PlacementPlan } from '../results.js';
import { formatCpuList, parseCpuList } from '../placement-text.js';

export type { PlacementPlan };
// CPU lists are written and read in one place, shared with the reports.
export { formatCpuList, parseCpuList };
export type PlacementMode = 'auto' | 'off';

export interface CpuBudget {
  /** CPU ids this process may run on (its affinity mask), ascending. */
  cpus: number[];
  /** cgroup CPU quota in cores (cpu.max quota / period), null when unlimited or unknown. */
  quotaCores: number | null;
}

export interface PlacementRequest {
  budget: CpuBudget;
  /** Largest server count of the sweep. */
  maxServers: number;
  /** Whether the bench starts the servers itself (kvring or redis), so it can place them. */
  serversStarted: boolean;
  /** --num_threads. */
  generatorThreads: number;
  mode: PlacementMode;
  /** `taskset` (util-linux) is available to pin processes. */
  canPin: boolean;
}

/** Cores the budget allows: the affinity mask's CPU count, capped by a cgroup quota (at least 1). */
export function usableCores(budget: CpuBudget): number {
  const mask = Math.max(1, budget.cpus.length);
  return budget.quotaCores === null ? mask : Math.max(1, Math.min(mask, Math.floor(budget.quotaCores)));
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function planPlacement(r: PlacementRequest): PlacementPlan {
  const cores = usableCores(r.budget);
  const threads = r.generatorThreads;
  const warnings: string[] = [];
  const quotaNote = r.budget.quotaCores !== null && Math.floor(r.budget.quotaCores) < r.budget.cpus.length ? ` (cgroup quota ${r.budget.quotaCores} of ${r.budget.cpus.length} CPUs)` : '';
  // Started servers keep their cores; the generator may use the rest (at least one).
  const generatorCores = r.serversStarted ? Math.max(1, cores - r.maxServers) : cores;
  const oversubscribedThreads = Math.max(0, threads - generatorCores);
  if (oversubscribedThreads > 0) {
    warnings.push(
      `${plural(threads, 'generator thread')} but the generator may use ${plural(generatorCores, 'core')} ` +
        `(${plural(cores, 'core')}${quotaNote}${r.serversStarted ? `, ${plural(r.maxServers, 'server')}` : ''}): threads take turns on a core, ` +
        `so their lateness and throughput measure the sharing; use --num_threads ${generatorCores} or fewer`,
    );
  }
  const ownCoresUpToServers = r.serversStarted ? Math.max(0, Math.min(r.maxServers, cores - threads)) : 0;
  if (r.serversStarted && r.maxServers + threads > cores) {
    warnings.push(
      `${plural(r.maxServers, 'server')} + ${plural(threads, 'generator thread')} share ${plural(cores, 'core')}${quotaNote}: ` +
        (ownCoresUpToServers > 0
          ? `above ${plural(ownCoresUpToServers, 'server')}, throughput across server counts measures this machine, not scaling`
          : 'throughput across server counts measures this machine, not scaling'),
    );
  }
  if (!r.serversStarted) warnings.push('servers not started by the bench (--servers): where they run, and what shares their cores, is unknown to it');

  const fits = r.serversStarted && r.maxServers + threads <= cores;
  let pinned = false;
  let generatorCpus: number[] | null = null;
  let serverCpus: number[][] | null = null;
  let helperCpus: number[] | null = null;
  // Servers the bench did not start stay where they are, but its own threads are still kept apart
  // when there is a core to spare.
  if (r.mode === 'auto' && r.canPin && (fits || (!r.serversStarted && threads < cores))) {
    const cpus = r.budget.cpus.slice(0, cores);
    generatorCpus = cpus.slice(0, threads);
    if (r.serversStarted) serverCpus = Array.from({ length: r.maxServers }, (_, i) => [cpus[threads + i]!]);
    // The bench's main thread and V8's and libuv's helper threads (garbage collection, compilation,
    // file writes) go beside the servers: on the generator's core their bursts of kernel work held
    // its ticker thread off the CPU for 1–10 ms at the start of each step (measured: send-lateness
    // p99 of a 12k/s step 1.2–1.5 ms with them there, 77–84 µs without).
    helperCpus = cpus.slice(threads);
    pinned = true;
  } else if (r.mode === 'auto' && fits && !r.canPin) {
    warnings.push('taskset (util-linux) is not installed: processes are not pinned, the scheduler may still put a server beside a generator thread');
  }
  return { usableCores: cores, pinned, generatorCpus, serverCpus, helperCpus, ownCoresUpToServers, oversubscribedThreads, warnings };
}

