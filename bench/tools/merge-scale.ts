#!/usr/bin/env node
// `npm run merge-scale -- --template <a part's results.json> --parts 100`: what merging a split
// run of many generators costs. Writes --parts copies of one real part (its histograms, steps and
// size; only the generator index, host and label differ), runs the real `npm run merge` on them as
// a child process, and prints its wall time and peak memory (VmHWM, read from /proc while it runs).

import { spawn } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { parseFlags, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { ReportUsageError } from '../errors.js';
import type { RunResult } from '../results.js';
import { labelOfParts, partLabel } from '../analysis/merge-parts.js';
import { readResultsFile } from '../report/load-results.js';

const MERGE = fileURLToPath(new URL('../report/merge-cli.js', import.meta.url));

export const SCALE_OPTIONS = {
  template: { type: 'string', describe: 'results.json of one part of a split run (its generator block is rewritten per copy)' },
  parts: { type: 'number', default: 100, describe: 'generators to simulate' },
  out: { type: 'string', default: 'reports/merge-scale', describe: 'folder for the parts and the merged run (replaced)' },
  charts: { type: 'boolean', default: true, describe: 'let merge draw the charts and index.html too, as the merge Job does' },
} as const satisfies Record<string, FlagSpec>;

/** Peak resident memory of `pid` so far, KiB (Linux VmHWM), or null. */
function peakKiB(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    // The process has exited between two reads: the last reading stands.
    return null;
  }
}

/** Copy `index` of `count` of the template part. Pure. */
export function partCopy(template: RunResult, index: number, count: number): RunResult {
  const g = template.generator!;
  return {
    ...template,
    label: partLabel(labelOfParts(template.label), index),
    machine: { ...template.machine, hostname: `gen-${index}` },
    generator: { ...g, index, count, firstWorker: index * g.threads, clock: null },
  };
}

export async function runScale(args: string[]): Promise<number> {
  const outcome = parseFlags({ command: 'merge-scale', usage: 'Usage: $0 --template part/results.json [--parts 100]', specs: SCALE_OPTIONS, positional: false, usageError: (m) => new ReportUsageError(m) }, args);
  if (outcome.kind === 'help') {
    process.stdout.write(`${outcome.text}\n`);
    return 0;
  }
  const o = outcome.argv;
  if (typeof o['template'] !== 'string') throw new ReportUsageError('--template is required: the results.json of one part of a split run (npm run split-sim writes some)');
  const template = (await readResultsFile(o['template'])).result;
  if (template.generator === undefined) throw new ReportUsageError(`${o['template']} is not a part of a split run (no "generator" block)`);
  const count = Number(o['parts']);
  const out = String(o['out']);
  await rm(out, { recursive: true, force: true });
  for (let i = 0; i < count; i++) {
    const dir = join(out, 'parts', `part-${String(i).padStart(4, '0')}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'results.json'), JSON.stringify(partCopy(template, i, count)));
  }
  const partBytes = (await stat(o['template'])).size;
  const started = performance.now();
  const child = spawn(process.execPath, [MERGE, join(out, 'parts'), '--out', join(out, 'merged'), ...(o['charts'] === false ? ['--no-charts'] : [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  let peak = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, peakKiB(child.pid!) ?? 0);
  }, 10);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(poll);
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new ReportUsageError(`merge failed (exit ${code}): ${stderr.trim()}`);
  process.stdout.write(
    `merge of ${count} parts (${template.steps.length} steps each, ${(partBytes / 1024).toFixed(0)} KiB per results.json${o['charts'] === false ? ', no charts' : ', with charts'}): ` +
      `${seconds.toFixed(2)} s, peak RSS ${(peak / 1024).toFixed(0)} MiB (load average ${loadavg()[0]!.toFixed(2)})\n`,
  );
  return 0;
}

runIfMain(import.meta.url, runScale);
