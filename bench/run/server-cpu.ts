// CPU time of the server processes a run started, read from /proc around each step, so a step can
// report the servers' CPU cost per request. On a shared machine that figure is much steadier than
// throughput: another process taking a core lowers ops/s but not the CPU each request costs, which
// is why the CI gate can judge on it (README "Comparing runs").
//
// Linux only. /proc/<pid>/task/<tid>/schedstat gives each thread's run time in nanoseconds; where
// it is missing (kernels without schedstats) /proc/<pid>/stat's utime + stime in clock ticks is
// used, at 10 ms resolution. Anything else (another OS, a process gone) reads as null.

import { readdirSync, readFileSync } from 'node:fs';
import { parseSchedstat } from '../worker/thread-cpu.js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every Linux architecture Node runs on). */
const USER_HZ = 100;


/** utime + stime of a /proc/<pid>/stat line, nanoseconds. The command name may hold spaces and ')'. */
export function parseStatCpuNs(text: string): number | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1e9) / USER_HZ : null;
}

/** cutime + cstime of a /proc/<pid>/stat line: CPU of the children the process waited for, ns. */
export function parseStatChildrenCpuNs(text: string): number | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // cutime (16) and cstime (17) are 13 and 14 after the name.
  const ticks = Number(fields[13]) + Number(fields[14]);
  return Number.isFinite(ticks) ? (ticks * 1e9) / USER_HZ : null;
}

/** CPU time of every thread of `pid` so far, nanoseconds; null when it cannot be read. */
export function processCpuNs(pid: number): number | null {
  try {
    let total = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const sample = parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
      if (sample === null) return null;
      total += sample.cpuNs;
    }
    return total;
  } catch {
    try {
      return parseStatCpuNs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return null;
    }
  }
}

/** One reading of the servers' CPU: which process each one was, and its CPU time. */
export type CpuSample = { pid: number; ns: number }[];

/** Reads the servers' CPU; null unless every one of them has a process to read. */
export function sampleCpu(pids: readonly (number | null)[], read: (pid: number) => number | null = processCpuNs): CpuSample | null {
  const sample: CpuSample = [];
  for (const pid of pids) {
    if (pid === null) return null;
    const ns = read(pid);
    if (ns === null) return null;
    sample.push({ pid, ns });
  }
  return sample;
}

/**
 * CPU microseconds the servers spent between two samples, null when either is missing or a server
 * is a different process at the end (restarted by --chaos: its time before is lost).
 */
export function cpuUsBetween(before: CpuSample | null, after: CpuSample | null): number | null {
  if (before === null || after === null || before.length !== after.length || before.length === 0) return null;
  let ns = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i]!.pid !== after[i]!.pid) return null;
    ns += after[i]!.ns - before[i]!.ns;
  }
  return ns / 1000;
}

/**
 * CPU time of every process on the machine except `excluded`, `root` and its descendants (the
 * bench, the servers it started), in
 * clock ticks (utime + stime of /proc/<pid>/stat); null where /proc cannot be read. Two readings
 * around a step tell how much of the machine other tenants of the same OS took meanwhile — the
 * noise that steal (another VM) does not show.
 */
export function otherProcessesCpuTicks(excluded: ReadonlySet<number>, root: number = process.pid): number | null {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return null;
  }
  const parentOf = new Map<number, number>();
  const ticksOf = new Map<number, number>();
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ns = parseStatCpuNs(stat);
      // Field 4 (ppid) is index 1 after the name.
      parentOf.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      if (ns !== null) ticksOf.set(pid, (ns * USER_HZ) / 1e9);
    } catch {
      // The process ended between the listing and the read: its time is simply not counted.
    }
  }
  // `root` and everything it started (its servers, the tools it runs) are not "other processes".
  const ours = (pid: number): boolean => {
    for (let p = pid, depth = 0; p > 1 && depth < 64; p = parentOf.get(p) ?? 0, depth++) if (p === root) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, t] of ticksOf) if (!excluded.has(pid) && !ours(pid)) ticks += t;
  return ticks;
}

/** Share of the machine's CPU (`cores` × elapsed) that `ticks` of CPU time are, 0..1. */
export function cpuShare(ticks: number, elapsedSec: number, cores: number): number {
  return elapsedSec > 0 && cores > 0 ? Math.min(1, Math.max(0, ticks / USER_HZ / (elapsedSec * cores))) : 0;
}
