// The CPUs this run may use and the means to pin processes to them: the affinity mask from
// /proc/self/status, the cgroup quota (v2 cpu.max, or v1 cfs quota/period), and taskset from
// util-linux. Linux only; elsewhere the budget is os.availableParallelism() and nothing is pinned.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { formatCpuList, parseCpuList, type CpuBudget } from './placement.js';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Not Linux, or no such cgroup file: the caller falls back to what it knows.
    return null;
  }
}

/** The quota of a cgroup v2 `cpu.max` ("max 100000" or "150000 100000"), in cores; null when unlimited. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return null;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : null;
}

export function readCpuBudget(): CpuBudget {
  const status = readText('/proc/self/status');
  const listed = status === null ? null : /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  const cpus = (listed !== undefined && listed !== null ? parseCpuList(listed) : null) ?? Array.from({ length: availableParallelism() }, (_, i) => i);
  let quotaCores: number | null = null;
  const v2 = readText('/sys/fs/cgroup/cpu.max');
  if (v2 !== null) quotaCores = parseCpuMax(v2);
  else {
    const quota = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
    const period = Number(readText('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
    if (quota > 0 && period > 0) quotaCores = quota / period;
  }
  return { cpus, quotaCores };
}

/** Whether `taskset` runs here. */
export async function canPin(): Promise<boolean> {
  const r = await execa('taskset', ['--version'], { reject: false, timeout: 5000 });
  return !r.failed;
}

/** Pins every thread of process `pid` to `cpus` (threads it starts later inherit the mask). */
export async function pinProcess(pid: number, cpus: readonly number[]): Promise<void> {
  await execa('taskset', ['--all-tasks', '--pid', '--cpu-list', formatCpuList(cpus), String(pid)], { timeout: 5000, stdout: 'ignore' });
}
