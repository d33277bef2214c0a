#!/usr/bin/env node
// What does kvring's append-only log cost, next to what Redis's costs? Starts kvring with the log
// off / everysec / always and redis-server with appendonly no / everysec / always (RDB snapshots
// off on both, data folders on the same file system), drives each with the same SET load
// (memtier_benchmark, or redis-benchmark), and measures ops/s and the server's CPU per request
// (all threads from /proc schedstat, plus children such as Redis's AOF rewrite). Rounds alternate:
// in each round every configuration runs once, in an order rotated round by round, so the
// machine's drift hits all of them alike; ratios are taken within a round and their median
// reported (docs/measuring.md).
//
//   npm run build && node dist/scripts/persistence-cost.js [--rounds 5] [--seconds 8]
//     [--pipelines 1,16] [--tool memtier|redis-benchmark] [--memtier /path/to/memtier_benchmark]
//     [--logs off,everysec,always] [--dir /tmp] [--json_out_file out.json]   (--help lists all)
//
// memtier_benchmark is found by --memtier, $MEMTIER or PATH; without it redis-benchmark is used.
// Markdown on stdout, progress on stderr. Every server it starts is stopped, its folder removed.

import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagTable, parseFlags, type FlagSpec } from '../cli/flags.js';
import { runIfMain } from '../cli/main.js';
import { BenchConfigError } from '../bench/errors.js';
import { findMemtier } from './peers.js';
import { runMemtier, runRedisBenchmark, type LoadSpec, type LoadTool, type LoadResult } from './persistence-cost/load.js';
import { readCpuNs, startKvring, startRedis, type CostServer } from './persistence-cost/servers.js';
import { renderCostMarkdown, summarizeCost, type CostMeasurement, type LogSetting } from './persistence-cost/summary.js';

const LOG_SETTINGS: readonly LogSetting[] = ['off', 'no', 'everysec', 'always'];

export const PERSISTENCE_COST_OPTIONS = {
  rounds: { type: 'number', default: 5, describe: 'alternating rounds (every configuration once per round and pipeline); medians are quoted' },
  seconds: { type: 'number', default: 8, describe: 'seconds per measurement (redis-benchmark: requests sized from the last rate)' },
  warmup_seconds: { type: 'number', default: 2, describe: 'an unrecorded run per configuration and pipeline before the rounds' },
  pipelines: { type: 'string', default: '1,16', describe: 'pipeline depths, comma-separated' },
  connections: { type: 'number', default: 50, describe: 'client connections (one client thread)' },
  key_space: { type: 'number', default: 100_000, describe: 'SETs draw keys from this many' },
  value_bytes: { type: 'number', default: 32, describe: 'value size, bytes' },
  logs: { type: 'string', default: 'off,everysec,always', describe: `log settings to compare, comma-separated, from ${LOG_SETTINGS.join(', ')} (off = appendonly no; must include off)` },
  tool: { type: 'string', choices: ['auto', 'memtier', 'redis-benchmark'], default: 'auto', describe: 'load tool; auto: memtier_benchmark if found, else redis-benchmark' },
  memtier: { type: 'string', default: '', describe: 'memtier_benchmark binary (default: $MEMTIER, else memtier_benchmark on PATH)' },
  redis_server: { type: 'string', default: 'redis-server', describe: 'redis-server binary' },
  dir: { type: 'string', default: tmpdir(), defaultDescription: 'the temporary folder', describe: 'where the data folders go (the file system under test)' },
  json_out_file: { type: 'string', describe: 'also write every measurement and the summary to this file' },
} as const satisfies Record<string, FlagSpec>;

export function persistenceCostFlagTable(): string {
  return flagTable(PERSISTENCE_COST_OPTIONS);
}

async function resolveTool(tool: string, memtierFlag: string): Promise<{ tool: LoadTool; memtier: string | null }> {
  const memtier = await findMemtier(memtierFlag);
  if (tool === 'memtier' && memtier === null) throw new BenchConfigError('--tool memtier: memtier_benchmark not found; pass --memtier /path/to/memtier_benchmark, set MEMTIER, or put it on PATH');
  if (tool === 'redis-benchmark' || memtier === null) return { tool: 'redis-benchmark', memtier: null };
  return { tool: 'memtier', memtier };
}

async function fileSystemOf(dir: string): Promise<string> {
  const r = await execa('df', ['--output=fstype', dir], { reject: false });
  return r.exitCode === 0 ? (String(r.stdout).trim().split('\n').pop() ?? 'unknown').trim() : 'unknown';
}

async function main(args: string[]): Promise<number> {
  const outcome = parseFlags({ command: 'persistence-cost', usage: 'Usage: node dist/scripts/persistence-cost.js [options]', specs: PERSISTENCE_COST_OPTIONS, positional: false, usageError: (m) => new BenchConfigError(m) }, args);
  if (outcome.kind === 'help') {
    process.stdout.write(outcome.text);
    return 0;
  }
  const a = outcome.argv;
  for (const name of ['rounds', 'seconds', 'connections', 'key_space', 'value_bytes'] as const) {
    const v = a[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new BenchConfigError(`--${name} must be a positive integer, got ${String(v)}`);
  }
  const warmupSeconds = Number(a.warmup_seconds);
  if (!Number.isInteger(warmupSeconds) || warmupSeconds < 0) throw new BenchConfigError(`--warmup_seconds must be an integer >= 0, got ${String(a.warmup_seconds)}`);
  const pipelines = String(a.pipelines).split(',').map((p) => Number(p.trim()));
  if (!pipelines.every((p) => Number.isInteger(p) && p > 0)) throw new BenchConfigError(`--pipelines must be positive integers, got "${String(a.pipelines)}"`);
  const logs = String(a.logs).split(',').map((l) => l.trim());
  if (!logs.every((l): l is LogSetting => (LOG_SETTINGS as readonly string[]).includes(l)) || !logs.includes('off')) {
    throw new BenchConfigError(`--logs must name settings from ${LOG_SETTINGS.join(', ')} and include off, got "${String(a.logs)}"`);
  }
  const rounds = Number(a.rounds);
  const seconds = Number(a.seconds);
  const connections = Number(a.connections);
  const keySpace = Number(a.key_space);
  const valueBytes = Number(a.value_bytes);
  const redisServer = String(a.redis_server);
  const { tool, memtier } = await resolveTool(String(a.tool), String(a.memtier));
  const redisVersion = await execa(redisServer, ['--version'], { reject: false });
  if (redisVersion.exitCode !== 0) throw new BenchConfigError(`${redisServer} cannot be run (${String(redisVersion.stderr || redisVersion.shortMessage)}); install with: apt-get install redis-server, or pass --redis_server`);
  if (tool === 'redis-benchmark' && (await execa('redis-benchmark', ['--version'], { reject: false })).exitCode !== 0) throw new BenchConfigError('redis-benchmark cannot be run; install with: apt-get install redis-tools');

  const parent = await mkdtemp(join(String(a.dir), 'kvring-persistence-cost-'));
  const servers: CostServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await rm(parent, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  const measurements: CostMeasurement[] = [];
  try {
    const fsType = await fileSystemOf(parent);
    const header = [
      `tool ${tool}${memtier !== null ? ` (${memtier})` : ''}; ${connections} connections, one client thread, SET only, ${valueBytes}-byte values over ${keySpace} keys`,
      `${rounds} alternating rounds x ${seconds} s (after a ${warmupSeconds} s warm-up each); pipelines ${pipelines.join(', ')}; logs ${logs.join(', ')}`,
      `${String(redisVersion.stdout).trim()}; kvring from this checkout, Node ${process.version}; data on ${parent} (${fsType}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    ];
    for (const line of header) process.stderr.write(`${line}\n`);
    for (const server of ['kvring', 'redis'] as const) {
      for (const log of logs) servers.push(server === 'kvring' ? await startKvring(log, parent) : await startRedis(redisServer, log, parent));
    }

    const rateGuess = new Map<string, number>();
    const runOnce = async (s: CostServer, pipeline: number, seconds: number): Promise<{ load: LoadResult; cpuNs: number }> => {
      const spec: LoadSpec = { port: s.port, pipeline, connections, keySpace, valueBytes };
      const before = await readCpuNs(s.pid);
      const key = `${s.server}|${s.log}|${pipeline}`;
      const load = tool === 'memtier' ? await runMemtier(memtier!, spec, seconds, join(parent, 'memtier.json')) : await runRedisBenchmark(spec, Math.max(10_000, Math.round((rateGuess.get(key) ?? 50_000) * seconds)));
      const cpuNs = (await readCpuNs(s.pid)) - before;
      rateGuess.set(key, load.opsPerSec);
      return { load, cpuNs };
    };

    for (const pipeline of pipelines) {
      if (warmupSeconds > 0) for (const s of servers) await runOnce(s, pipeline, warmupSeconds);
    }
    for (let round = 0; round < rounds; round++) {
      for (const pipeline of pipelines) {
        // Rotate the order each round, and reverse it every other round, so no configuration
        // always runs first or always right after the same neighbour.
        const order = servers.map((_, k) => servers[(k + round) % servers.length]!);
        if (round % 2 === 1) order.reverse();
        for (const s of order) {
          const { load, cpuNs } = await runOnce(s, pipeline, seconds);
          const m: CostMeasurement = { round, pipeline, server: s.server, log: s.log, requests: load.requests, opsPerSec: load.opsPerSec, serverCpuUsPerRequest: cpuNs / 1000 / load.requests };
          measurements.push(m);
          process.stderr.write(`round ${round + 1}/${rounds} P${pipeline} ${s.server} log ${s.log}: ${Math.round(m.opsPerSec)} ops/s, server ${m.serverCpuUsPerRequest.toFixed(2)} µs CPU/req\n`);
        }
      }
    }
    const summary = summarizeCost(measurements);
    process.stdout.write(`${header.map((l) => `<!-- ${l} -->`).join('\n')}\n\n${renderCostMarkdown(summary)}`);
    if (a.json_out_file !== undefined) {
      const settings = { rounds, seconds, warmupSeconds, pipelines, connections, keySpace, valueBytes, logs, tool, memtier, fsType, redisVersion: String(redisVersion.stdout).trim(), node: process.version };
      await writeFile(String(a.json_out_file), `${JSON.stringify({ settings, measurements, summary }, null, 2)}\n`);
    }
  } finally {
    await stopAll();
  }
  return 0;
}

runIfMain(import.meta.url, main);
