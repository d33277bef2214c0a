// How a run's CPU placement is written: CPU lists in the form taskset and /proc use, and the one
// line the terminal, the summary and index.html all show. Shared by the run (bench/run/) and the
// reports (bench/report/), which do not import each other.

import type { PlacementRecord } from './results.js';

/** "0-2,5" style list of CPU ids (as taskset -c and /proc's Cpus_allowed_list write them). */
export function formatCpuList(cpus: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j === i ? String(cpus[i]) : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parses "0-2,5" into [0, 1, 2, 5]; null when it is not such a list. */
export function parseCpuList(text: string): number[] | null {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (m === null) return null;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return null;
    for (let c = from; c <= to; c++) out.push(c);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Where the run's threads went, e.g. "generator threads on CPU 0, servers on 1, the bench's other threads on 1". */
export function describePlacement(p: Pick<PlacementRecord, 'pinned' | 'mode' | 'generatorCpus' | 'serverCpus' | 'helperCpus'>): string {
  if (!p.pinned) return `not pinned (--placement ${p.mode})`;
  return [
    `generator threads on CPU ${formatCpuList(p.generatorCpus ?? [])}`,
    ...(p.serverCpus ? [`servers on ${p.serverCpus.map((c) => formatCpuList(c)).join(' / ')}`] : []),
    // Absent in files written before the bench's other threads were placed apart.
    ...(p.helperCpus ? [`the bench's other threads on ${formatCpuList(p.helperCpus)}`] : []),
  ].join(', ');
}
