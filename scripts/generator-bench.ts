#!/usr/bin/env node
// Is kvring's load generator the bottleneck? Runs kvring's bench workers, memtier_benchmark and
// redis-benchmark against the same redis-server, same connections/threads/pipeline, alternating
// (A B C, then B C A, …: docs/measuring.md), and prints medians of ops/s and of
// generator CPU µs per request (user+sys from /proc, children's times of a wrapper shell), then
// compares p50 at low load with redis-benchmark's.
//
//   npm run build && node dist/scripts/generator-bench.js [--rounds 3] [--seconds 5]
//     [--pipelines 1,16] [--connections 50] [--memtier /path/to/memtier_benchmark] [--json out.json]
//
// Needs redis-server and redis-benchmark (apt-get install redis-server redis-tools); memtier is
// optional (build it from source, see docs/measuring.md; found by --memtier, $MEMTIER or PATH
// or $MEMTIER). Nothing is left running: the redis-server it starts is stopped on exit.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { parseBenchArgs } from '../bench/run/config.js';
import type { RunResult } from '../bench/results.js';
import { startTargets, TargetSet } from '../bench/run/targets.js';
import { median } from '../bench/analysis/statistics.js';
import { findMemtier, runMeasured } from './peers.js';
import { parseStatCpuNs } from '../bench/run/server-cpu.js';

const argv = yargs(process.argv.slice(2))
  .option('rounds', { type: 'number', default: 3, describe: 'alternating rounds per setting' })
  .option('seconds', { type: 'number', default: 5, describe: 'seconds per measurement' })
  .option('pipelines', { type: 'string', default: '1,16', describe: 'pipeline depths to compare' })
  .option('connections', { type: 'number', default: 50, describe: 'connections (one thread each tool)' })
  .option('key_space', { type: 'number', default: 100_000, describe: 'keys; all tools preload them' })
  .option('memtier', { type: 'string', describe: 'memtier_benchmark binary (default: $MEMTIER, else memtier_benchmark on PATH; skipped if absent)' })
  .option('parts', { type: 'string', default: 'throughput,lowload', describe: 'which comparisons to run' })
  .option('json', { type: 'string', describe: 'also write every measurement here' })
  .strict()
  .parseSync();

const CLI_JS = fileURLToPath(new URL('../bench/run/cli.js', import.meta.url));

interface Measurement {
  tool: string;
  pipeline: number;
  round: number;
  opsPerSec: number;
  requests: number;
  /** Generator CPU (user+sys) per request, µs: the whole tool process. */
  cpuUsPerRequest: number;
  /** kvring only: CPU per request during the measured step (excludes start-up and preloading). */
  stepCpuUsPerRequest?: number;
  serverCpuUsPerRequest: number;
  p50Us?: number;
}

/** user+sys CPU seconds of a process from /proc/<pid>/stat (fields 14, 15). */
async function processCpuSec(pid: number): Promise<number> {
  return (parseStatCpuNs(await readFile(`/proc/${pid}/stat`, 'utf8')) ?? NaN) / 1e9;
}



async function main(): Promise<void> {
  const pipelines = argv.pipelines.split(',').map(Number);
  const connections = argv.connections;
  const seconds = argv.seconds;
  const keySpace = argv.key_space;
  const memtier = await findMemtier(argv.memtier);
  const parsed = parseBenchArgs(['--target', 'redis', '--num_servers', '1']);
  if (parsed.kind !== 'config') throw new Error('unreachable');
  const set = new TargetSet('redis');
  const work = await mkdtemp(join(tmpdir(), 'kvring-genbench-'));
  const stopAll = async (): Promise<void> => {
    await set.stop();
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await startTargets(parsed.config, set);
    const address = set.addresses[0]!;
    const port = address.split(':')[1]!;
    const redisPid = set.pids[0]!;
    process.stderr.write(`redis-server ${address} (pid ${redisPid}); memtier: ${memtier ?? 'not found, skipped'}\n`);
    if (memtier !== null) {
      // memtier's GETs read memtier-<n>: write them all first so its GETs hit like the others'.
      await runMeasured(memtier, ['-s', '127.0.0.1', '-p', port, '--protocol=redis', '-t', '1', '-c', '1', '--pipeline=64', '--ratio=1:0', '--key-pattern=P:P', '--key-minimum=1', `--key-maximum=${keySpace}`, '-n', 'allkeys', '--data-size=32', '--hide-histogram']);
    }
    const results: Measurement[] = [];
    const rateGuess = new Map<number, number>();

    const measureKvring = async (pipeline: number, round: number): Promise<Measurement> => {
      const before = await processCpuSec(redisPid);
      const { stdout, cpuSec } = await runMeasured(process.execPath, [
        CLI_JS, '--servers', address, '--mode', 'closed', '--mix', 'get:50,put:50', '--num_threads', '1', '--connections', String(connections),
        '--pipeline', String(pipeline), '--step_duration', String(seconds), '--key_space', String(keySpace), '--value_size', '32',
        '--quiet', '--json', '--no-charts', '--out', work, '--label', 'genbench',
      ]);
      const serverSec = (await processCpuSec(redisPid)) - before;
      const r = JSON.parse(stdout) as RunResult;
      const step = r.steps[0]!;
      return {
        tool: 'kvring', pipeline, round, opsPerSec: step.achievedOpsPerSec, requests: step.requests,
        cpuUsPerRequest: (cpuSec * 1e6) / step.requests, stepCpuUsPerRequest: step.client.cpuUsPerRequest,
        // The server also served the preload: count only the step's share, by request counts.
        serverCpuUsPerRequest: (serverSec * 1e6) / (step.requests + keySpace),
      };
    };
    const measureMemtier = async (pipeline: number, round: number): Promise<Measurement> => {
      const out = join(work, 'memtier.json');
      const before = await processCpuSec(redisPid);
      const { cpuSec } = await runMeasured(memtier!, [
        '-s', '127.0.0.1', '-p', port, '--protocol=redis', '-t', '1', '-c', String(connections), '--ratio=1:1', `--pipeline=${pipeline}`,
        `--test-time=${seconds}`, '--hide-histogram', '--key-minimum=1', `--key-maximum=${keySpace}`, '--data-size=32', `--json-out-file=${out}`,
        // Without it all 50 clients draw the same random key sequence, so the server sees a tiny
        // hot working set (measured: ~25 % less redis CPU per request than with random keys).
        '--distinct-client-seed',
      ]);
      const serverSec = (await processCpuSec(redisPid)) - before;
      const j = JSON.parse(await readFile(out, 'utf8')) as { 'ALL STATS': { Totals: { Count: number; 'Ops/sec': number } } };
      const t = j['ALL STATS'].Totals;
      rateGuess.set(pipeline, t['Ops/sec']);
      return { tool: 'memtier', pipeline, round, opsPerSec: t['Ops/sec'], requests: t.Count, cpuUsPerRequest: (cpuSec * 1e6) / t.Count, serverCpuUsPerRequest: (serverSec * 1e6) / t.Count };
    };
    const measureRedisBenchmark = async (pipeline: number, round: number): Promise<Measurement> => {
      const n = Math.max(20_000, Math.round(((rateGuess.get(pipeline) ?? 100_000) * seconds) / 2));
      const before = await processCpuSec(redisPid);
      const { stdout, cpuSec } = await runMeasured('redis-benchmark', ['-h', '127.0.0.1', '-p', port, '-t', 'set,get', '-n', String(n), '-c', String(connections), '-P', String(pipeline), '-r', String(keySpace), '-d', '32', '-q', '--csv']);
      const serverSec = (await processCpuSec(redisPid)) - before;
      const rps = stdout.split('\n').filter((l) => /^"(SET|GET)"/.test(l)).map((l) => Number(l.split(',')[1]!.replace(/"/g, '')));
      const seconds2 = rps.reduce((a, r) => a + n / r, 0);
      return { tool: 'redis-benchmark', pipeline, round, opsPerSec: (2 * n) / seconds2, requests: 2 * n, cpuUsPerRequest: (cpuSec * 1e6) / (2 * n), serverCpuUsPerRequest: (serverSec * 1e6) / (2 * n) };
    };

    type Measure = (pipeline: number, round: number) => Promise<Measurement>;
    const tools: [string, Measure][] = [...(memtier !== null ? [['memtier', measureMemtier] as [string, Measure]] : []), ['redis-benchmark', measureRedisBenchmark], ['kvring', measureKvring]];
    const parts = argv.parts.split(',');
    for (const pipeline of parts.includes('throughput') ? pipelines : []) {
      for (let round = 0; round < argv.rounds; round++) {
        // Rotate the order each round so no tool always runs first (or right after another).
        for (let k = 0; k < tools.length; k++) {
          const [name, measure] = tools[(k + round) % tools.length]!;
          const m = await measure(pipeline, round);
          results.push(m);
          process.stderr.write(`P${pipeline} round ${round + 1} ${name}: ${Math.round(m.opsPerSec)} ops/s, ${m.cpuUsPerRequest.toFixed(2)} µs CPU/req${m.stepCpuUsPerRequest !== undefined ? ` (in step ${m.stepCpuUsPerRequest.toFixed(2)})` : ''}, server ${m.serverCpuUsPerRequest.toFixed(2)} µs/req\n`);
        }
      }
    }

    // Low load: one connection, so nothing queues. redis-benchmark has no rate limit: its low load
    // is a closed loop on one connection, and kvring runs the same; then kvring's open loop at a
    // low fixed rate, whose p50 also contains the wake-up from idle before every request.
    const lowLoad: Measurement[] = [];
    const kvLow = async (tool: string, round: number, extra: string[]): Promise<RunResult['steps'][number]> => {
      const run = await runMeasured(process.execPath, [
        CLI_JS, '--servers', address, '--workloads', 'get', '--num_threads', '1', '--connections', '1', '--step_duration', String(Math.min(seconds, 3)),
        '--key_space', String(keySpace), '--quiet', '--json', '--no-charts', '--out', work, '--label', 'genbench', ...extra,
      ]);
      const step = (JSON.parse(run.stdout) as RunResult).steps[0]!;
      lowLoad.push({ tool, pipeline: 1, round, opsPerSec: step.achievedOpsPerSec, requests: step.requests, cpuUsPerRequest: step.client.cpuUsPerRequest, serverCpuUsPerRequest: 0, p50Us: step.total.latency.p50Us });
      return step;
    };
    for (let round = 0; round < (parts.includes('lowload') ? argv.rounds : 0); round++) {
      const rb = await runMeasured('redis-benchmark', ['-h', '127.0.0.1', '-p', port, '-t', 'get', '-n', '20000', '-c', '1', '-P', '1', '-r', String(keySpace), '-d', '32', '-q', '--csv']);
      const line = rb.stdout.split('\n').find((l) => l.startsWith('"GET"')) ?? '';
      const rbP50Us = Number(line.split(',')[4]!.replace(/"/g, '')) * 1000;
      const rbRps = Number(line.split(',')[1]!.replace(/"/g, ''));
      lowLoad.push({ tool: 'redis-benchmark -c 1 (closed loop)', pipeline: 1, round, opsPerSec: rbRps, requests: 20000, cpuUsPerRequest: (rb.cpuSec * 1e6) / 20000, serverCpuUsPerRequest: 0, p50Us: rbP50Us });
      const closed = await kvLow('kvring --mode closed --connections 1', round, ['--mode', 'closed']);
      const open = await kvLow('kvring open loop 1000/s, 1 connection: latency', round, ['--rate', '1000', '--load_levels', '100']);
      lowLoad.push({ tool: 'kvring open loop 1000/s, 1 connection: service time', pipeline: 1, round, opsPerSec: open.achievedOpsPerSec, requests: open.requests, cpuUsPerRequest: open.client.cpuUsPerRequest, serverCpuUsPerRequest: 0, p50Us: open.total.serviceTime.p50Us });
      process.stderr.write(
        `low load round ${round + 1}: redis-benchmark c1 p50 ${rbP50Us.toFixed(0)} µs (${Math.round(rbRps)}/s); kvring closed c1 p50 ${closed.total.latency.p50Us} µs (${Math.round(closed.achievedOpsPerSec)}/s); ` +
          `kvring open 1000/s p50 ${open.total.latency.p50Us} µs (service ${open.total.serviceTime.p50Us} µs, send lateness p99 ${open.client.sendLatenessP99Us} µs)\n`,
      );
    }

    const lines: string[] = [];
    if (results.length > 0) {
      lines.push(`| tool → redis-server | pipeline | ops/s (median) | vs memtier | vs redis-benchmark | tool CPU µs/req | server CPU µs/req |`);
      lines.push('|---|---|---|---|---|---|---|');
    }
    for (const pipeline of parts.includes('throughput') ? pipelines : []) {
      const med = (tool: string, f: (m: Measurement) => number): number => median(results.filter((m) => m.tool === tool && m.pipeline === pipeline).map(f));
      const mt = med('memtier', (m) => m.opsPerSec);
      const rb = med('redis-benchmark', (m) => m.opsPerSec);
      for (const tool of ['memtier', 'redis-benchmark', 'kvring']) {
        const ops = med(tool, (m) => m.opsPerSec);
        if (Number.isNaN(ops)) continue;
        const cpu = med(tool, (m) => m.cpuUsPerRequest);
        const step = tool === 'kvring' ? ` (${med(tool, (m) => m.stepCpuUsPerRequest ?? NaN).toFixed(2)} in step)` : '';
        lines.push(`| ${tool} | ${pipeline} | ${Math.round(ops)} | ${Number.isNaN(mt) ? '-' : (ops / mt).toFixed(2)} | ${(ops / rb).toFixed(2)} | ${cpu.toFixed(2)}${step} | ${med(tool, (m) => m.serverCpuUsPerRequest).toFixed(2)} |`);
      }
    }
    lines.push('');
    lines.push('| low load, 1 connection | p50 µs (median) |');
    lines.push('|---|---|');
    for (const tool of [...new Set(lowLoad.map((m) => m.tool))]) {
      lines.push(`| ${tool} | ${Math.round(median(lowLoad.filter((m) => m.tool === tool).map((m) => m.p50Us ?? NaN)))} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    if (argv.json !== undefined) await writeFile(argv.json, `${JSON.stringify({ results, lowLoad }, null, 2)}\n`);
  } finally {
    await stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`generator-bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
