// Time the hypervisor gave this VM's CPUs to someone else ("steal" in /proc/stat), per step.
//
// On a shared VM another tenant can take a core for seconds to minutes. Measured here: runs with
// no steal had server CPU per request within ±5 % of each other; a run that lost a quarter of the
// machine to steal cost twice the CPU per request and a quarter of the throughput — the guest's
// clocks keep running while its vCPU waits, so even CPU time per request inflates. A trial taken
// during such a moment describes the neighbour, not the build, and compare leaves it out
// (--max_steal, analysis/steal-limit.ts). Linux only; null elsewhere.

import { readFileSync } from 'node:fs';

/** Cumulative ticks of all CPUs from the first line of /proc/stat: time stolen and time in all. */
export interface CpuTicks {
  steal: number;
  total: number;
}

/** Parses the aggregate "cpu " line: user nice system idle iowait irq softirq steal [guest guest_nice]. */
export function parseProcStat(text: string): CpuTicks | null {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return null;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 8 || fields.some((f) => !Number.isFinite(f))) return null;
  // guest time is already counted in user, so the first eight fields are the whole.
  return { steal: fields[7]!, total: fields.reduce((a, b) => a + b, 0) };
}

export function readCpuTicks(): CpuTicks | null {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** Share of all CPU time between two readings that was stolen (0..1); null when unknown or no time passed. */
export function stealFraction(before: CpuTicks | null, after: CpuTicks | null): number | null {
  if (before === null || after === null) return null;
  const total = after.total - before.total;
  if (!(total > 0)) return null;
  return Math.max(0, Math.min(1, (after.steal - before.steal) / total));
}
