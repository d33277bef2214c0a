// What a result needs to say about where it was measured: machine, Node, kvring version, commit.

import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, hostname, totalmem } from 'node:os';
import type { MachineInfo } from '../results.js';

export function machineInfo(): MachineInfo {
  const cpu = cpus()[0];
  return {
    cpuModel: cpu?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    nodeVersion: process.version,
    platform: `${process.platform}-${process.arch}`,
    hostname: hostname(),
  };
}

/** package.json's version; found from dist/bench/ (compiled) or bench/ (tsx). */
export async function kvringVersion(): Promise<string> {
  for (const relative of ['../../package.json', '../package.json']) {
    try {
      const text = await readFile(new URL(relative, import.meta.url), 'utf8');
      const parsed = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (parsed.name === 'kvring' && typeof parsed.version === 'string') return parsed.version;
    } catch (err) {
      // Not at this level (ENOENT) or not ours: try the next candidate.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
  }
  return 'unknown';
}

/** HEAD's commit (with "-dirty" if the work tree has changes), or null outside a git checkout. */
export async function gitCommit(): Promise<string | null> {
  const head = await execa('git', ['rev-parse', 'HEAD'], { reject: false, timeout: 5000 });
  if (head.failed || typeof head.stdout !== 'string' || head.stdout === '') return null;
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { reject: false, timeout: 5000 });
  const dirty = !status.failed && typeof status.stdout === 'string' && status.stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}
