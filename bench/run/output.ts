// The run folder: results.json, one .hgrm per operation and step, and the `latest` link.

import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { StepHistograms } from './merge-worker-reports.js';
import { hgrmText } from '../histogram.js';
import type { RunResult } from '../results.js';

/** reports/<timestamp>-<label>, the timestamp in UTC without colons (safe in every file system). */
export function runFolderName(startedAt: Date, label: string): string {
  const stamp = startedAt.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  return `${stamp}-${label}`;
}

export async function createRunDir(outDir: string, startedAt: Date, label: string): Promise<string> {
  const runDir = join(outDir, runFolderName(startedAt, label));
  await mkdir(runDir, { recursive: true });
  return runDir;
}

/**
 * `step-007-get.hgrm` (latency from the intended send) and `step-007-get.service.hgrm` (from the
 * actual send); mixes also get `step-007-total.hgrm`. Values in milliseconds.
 */
export function hgrmFileName(stepIndex: number, operation: string, kind: 'latency' | 'service'): string {
  return `step-${String(stepIndex).padStart(3, '0')}-${operation}${kind === 'service' ? '.service' : ''}.hgrm`;
}

/** Writes results.json and the .hgrm files; returns the paths written. */
export async function writeRunFiles(runDir: string, result: RunResult, histograms: readonly StepHistograms[]): Promise<string[]> {
  const written: string[] = [];
  const resultsPath = join(runDir, 'results.json');
  await writeFile(resultsPath, `${JSON.stringify(result, null, 2)}\n`);
  written.push(resultsPath);
  for (let i = 0; i < histograms.length; i++) {
    const h = histograms[i]!;
    // 'total' repeats the only operation of a single-operation step: written for mixes only.
    const single = Object.keys(h.latency).filter((op) => op !== 'total').length === 1;
    for (const [kind, byOp] of [['latency', h.latency], ['service', h.serviceTime]] as const) {
      for (const [op, hist] of Object.entries(byOp)) {
        if (hist === undefined || (single && op === 'total')) continue;
        const p = join(runDir, hgrmFileName(i, op, kind));
        await writeFile(p, hgrmText(hist));
        written.push(p);
      }
    }
  }
  return written;
}

/** Points <outDir>/<name> (default "latest") at the run folder (a relative symlink, replaced atomically). */
export async function linkLatest(outDir: string, runDir: string, name = 'latest'): Promise<void> {
  const link = join(outDir, name);
  const temp = join(outDir, `.latest-${process.pid}`);
  await rm(temp, { force: true });
  await symlink(basename(runDir), temp);
  await rename(temp, link);
}
