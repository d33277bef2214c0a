// How close are kvring's numbers to a reference generator's? Runs kvring's bench and
// memtier_benchmark --rate-limiting at the same fixed rates against one redis-server, alternating
// which goes first each round, and prints medians: p50 / p99 / p99.9 latency, kvring's send
// lateness, and each generator's CPU time per request.
//
//   npm run build && node dist/scripts/fidelity.js [--rates 2000,8000,24000] [--rounds 3] [--seconds 6]
//
// memtier times each request from its actual send (no coordinated-omission correction); kvring
// from the intended send. At loads far below saturation nothing queues, so the two agree when
// kvring's pacer is on time: the gap is the pacer's lateness. Needs redis-server (apt-get install
// redis-server); memtier_benchmark is found with --memtier, $MEMTIER or on PATH, and skipped with a
// message when absent (kvring is then measured alone).

import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flagTable, parseFlags, type FlagSpec } from '../cli/flags.js';
import { runIfMain } from '../cli/main.js';
import { findMemtier, runMeasured } from './peers.js';
import { median } from '../bench/analysis/statistics.js';
import { BenchConfigError } from '../bench/errors.js';
import type { RunResult } from '../bench/results.js';
import { parseBenchArgs } from '../bench/run/config.js';
import { startTargets, TargetSet } from '../bench/run/targets.js';
import { cpuShare, otherProcessesCpuTicks } from '../bench/run/server-cpu.js';
import { cpus } from 'node:os';
import { canPin, pinProcess, readCpuBudget } from '../bench/run/cpu-budget.js';
import { formatCpuList, planPlacement } from '../bench/run/placement.js';

const CLI_JS = fileURLToPath(new URL('../bench/run/cli.js', import.meta.url));

export const FIDELITY_OPTIONS = {
  rates: { type: 'string', default: '2000,8000,24000', describe: 'fixed rates to compare, total ops/s, comma-separated' },
  rounds: { type: 'number', default: 3, describe: 'alternating rounds per rate (medians are quoted)' },
  seconds: { type: 'number', default: 6, describe: 'seconds per measurement' },
  connections: { type: 'number', default: 8, describe: 'connections, the same for both tools' },
  threads: { type: 'number', default: 1, describe: 'generator threads, the same for both tools' },
  key_space: { type: 'number', default: 100_000, describe: 'keys both tools GET (each preloads its own key names)' },
  memtier: { type: 'string', default: '', describe: 'memtier_benchmark binary (default: $MEMTIER, else memtier_benchmark on PATH)' },
  target: { type: 'string', choices: ['redis', 'kvring'], default: 'redis', describe: 'the server both tools load: a redis-server, or a kvring server (what a default bench run measures)' },
  redis_server: { type: 'string', default: 'redis-server', describe: 'redis-server binary' },
  bench_flags: { type: 'string', default: '', describe: 'extra flags for kvring\'s bench, space-separated (e.g. "--placement off")' },
  json: { type: 'string', describe: 'also write every measurement to this file' },
  placement: { type: 'string', choices: ['auto', 'off'], default: 'auto', describe: "auto: memtier_benchmark and kvring's generator threads on the same first core(s), redis-server (and the rest of kvring's bench process) on the others, as a bench run places them; off: nothing pinned, for both tools" },
  retries: { type: 'number', default: 3, describe: 'measure a round again, up to this many times, when other processes took more than 5% of the machine during it' },
} as const satisfies Record<string, FlagSpec>;

export function fidelityFlagTable(): string {
  return flagTable(FIDELITY_OPTIONS);
}

interface Measurement {
  tool: 'kvring' | 'memtier';
  rate: number;
  round: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** kvring: p99 from each request's actual send (memtier's definition, no coordinated-omission correction); memtier: null. */
  sentP99Us: number | null;
  p999Us: number;
  /** kvring: p99 of how late requests left against their slots, µs. */
  latenessP99Us: number | null;
  /** Generator CPU (user+sys, all threads) per request, µs: memtier's whole process, kvring's measured step. */
  cpuUsPerRequest: number;
  /** Share of the machine's CPU that processes other than the two tools and redis took meanwhile (0..1). */
  otherCpuFraction: number | null;
}

/** Rounds whose machine was busier than this (other processes' share) are measured again. */
const QUIET_FRACTION = 0.05;

async function main(args: string[]): Promise<number> {
  const outcome = parseFlags({ command: 'fidelity', usage: 'Usage: node dist/scripts/fidelity.js [options]', specs: FIDELITY_OPTIONS, positional: false, usageError: (m) => new BenchConfigError(m) }, args);
  if (outcome.kind === 'help') {
    process.stdout.write(outcome.text);
    return 0;
  }
  const a = outcome.argv;
  const rates = String(a.rates).split(',').map(Number);
  if (rates.some((r) => !(r > 0))) throw new BenchConfigError(`--rates must be positive numbers, got "${String(a.rates)}"`);
  const rounds = Number(a.rounds);
  const seconds = Number(a.seconds);
  const connections = Number(a.connections);
  const threads = Number(a.threads);
  const keySpace = Number(a.key_space);
  const benchFlags = String(a.bench_flags).split(/\s+/).filter((s) => s !== '');
  const memtier = await findMemtier(String(a.memtier));
  if (memtier === null) {
    process.stderr.write('fidelity: memtier_benchmark not found (--memtier PATH, $MEMTIER or PATH; build it from github.com/RedisLabs/memtier_benchmark): measuring kvring alone\n');
  }
  const target = a.target === 'kvring' ? 'kvring' : 'redis';
  const parsed = parseBenchArgs(['--target', target, '--num_servers', '1', '--redis_server', String(a.redis_server)]);
  if (parsed.kind !== 'config') throw new Error('unreachable: no --help given');
  const set = new TargetSet(target);
  const work = await mkdtemp(join(tmpdir(), 'kvring-fidelity-'));
  const results: Measurement[] = [];
  try {
    await startTargets(parsed.config, set);
    const address = set.addresses[0]!;
    const port = address.slice(address.lastIndexOf(':') + 1);
    // Both tools' generators on the cores a bench run gives its generator threads, redis-server on
    // the others: the same place for both, so neither tool's figures carry the other's placement.
    const plan = planPlacement({ budget: readCpuBudget(), maxServers: 1, serversStarted: false, generatorThreads: threads, mode: a.placement === 'off' ? 'off' : 'auto', canPin: await canPin() });
    let memtierPrefix: string[] = [];
    if (plan.pinned && set.pids[0] !== undefined && set.pids[0] !== null) {
      await pinProcess(set.pids[0], plan.helperCpus!);
      memtierPrefix = ['taskset', '--cpu-list', formatCpuList(plan.generatorCpus!)];
      process.stderr.write(`fidelity: memtier_benchmark and kvring's generator threads on CPU ${formatCpuList(plan.generatorCpus!)}, the ${target} server on ${formatCpuList(plan.helperCpus!)}\n`);
    } else {
      benchFlags.push('--placement', 'off');
      process.stderr.write('fidelity: nothing pinned (--placement off, one core, or no taskset)\n');
    }
    process.stderr.write(`fidelity: ${target} server ${address}; memtier ${memtier ?? 'skipped'}; ${rounds} round(s) × ${rates.join(', ')} ops/s × ${seconds} s\n`);
    if (memtier !== null) {
      // memtier's keys (key:1 … key:N; it counts from 1) written once, so its GETs hit as kvring's do.
      await runMeasured(memtier, ['-s', '127.0.0.1', '-p', port, '--protocol=redis', '-t', '1', '-c', '1', '--pipeline=64', '--ratio=1:0', '--key-pattern=P:P', '--key-prefix=key:', '--key-minimum=1', `--key-maximum=${keySpace}`, '-n', 'allkeys', '--data-size=32', '--hide-histogram']);
    }
    const kvring = async (rate: number, round: number): Promise<Measurement> => {
      const { stdout } = await runMeasured(process.execPath, [
        CLI_JS, '--servers', address, '--workloads', 'get', '--rate', String(rate), '--load_levels', '100', '--step_duration', String(seconds),
        '--num_threads', String(threads), '--connections', String(connections), '--key_space', String(keySpace),
        '--no-charts', '--quiet', '--json', '--out', work, '--label', 'fidelity', ...benchFlags,
      ]);
      const step = (JSON.parse(stdout) as RunResult).steps[0]!;
      const l = step.operations.get!.latency;
      return { tool: 'kvring', rate, round, opsPerSec: step.achievedOpsPerSec, p50Us: l.p50Us, p99Us: l.p99Us, sentP99Us: step.operations.get!.serviceTime.p99Us, p999Us: l.p999Us, latenessP99Us: step.client.sendLatenessP99Us, cpuUsPerRequest: step.client.cpuUsPerRequest, otherCpuFraction: null };
    };
    const reference = async (rate: number, round: number): Promise<Measurement> => {
      const out = join(work, `memtier-${rate}-${round}.json`);
      const perConnection = Math.max(1, Math.round(rate / (connections * threads)));
      const [command, ...prefixArgs] = [...memtierPrefix, memtier!];
      const { cpuSec } = await runMeasured(command!, [
        ...prefixArgs,
        '-s', '127.0.0.1', '-p', port, '--protocol=redis', '-t', String(threads), '-c', String(connections), '--ratio=0:1', '--key-pattern=R:R',
        '--key-prefix=key:', '--key-minimum=1', `--key-maximum=${keySpace}`, `--rate-limiting=${perConnection}`, `--test-time=${seconds}`,
        '--hide-histogram', '--print-percentiles=50,99,99.9', `--json-out-file=${out}`,
      ]);
      const gets = (JSON.parse(await readFile(out, 'utf8')) as { 'ALL STATS': { Gets: { Count: number; 'Ops/sec': number; 'Percentile Latencies': Record<string, number> } } })['ALL STATS'].Gets;
      const pct = gets['Percentile Latencies'];
      return {
        tool: 'memtier', rate, round, opsPerSec: gets['Ops/sec'], p50Us: (pct['p50.00'] ?? NaN) * 1000, p99Us: (pct['p99.00'] ?? NaN) * 1000, sentP99Us: null, p999Us: (pct['p99.90'] ?? NaN) * 1000,
        latenessP99Us: null, cpuUsPerRequest: (cpuSec * 1e6) / Math.max(1, gets.Count), otherCpuFraction: null,
      };
    };
    const redisPid = set.pids[0] ?? -1;
    const cores = cpus().length;
    // Another tenant's burst lands in one tool's tail and not the other's: such a round says
    // nothing about the tools, so it is measured again (and reported).
    const measured = async (measure: (rate: number, round: number) => Promise<Measurement>, rate: number, round: number): Promise<Measurement> => {
      let m: Measurement | null = null;
      for (let attempt = 0; attempt <= Number(a.retries); attempt++) {
        // This process's descendants (the tool under test, its servers) and redis are not "others".
        const before = otherProcessesCpuTicks(new Set([redisPid]), process.pid);
        const startMs = performance.now();
        const candidate = await measure(rate, round);
        const after = otherProcessesCpuTicks(new Set([redisPid]), process.pid);
        candidate.otherCpuFraction = before === null || after === null ? null : cpuShare(Math.max(0, after - before), (performance.now() - startMs) / 1000, cores);
        m = candidate;
        if (candidate.otherCpuFraction === null || candidate.otherCpuFraction <= QUIET_FRACTION) break;
        process.stderr.write(`  (other processes took ${(candidate.otherCpuFraction * 100).toFixed(0)}% of the machine: measuring again)\n`);
      }
      return m!;
    };
    for (let round = 0; round < rounds; round++) {
      for (const rate of rates) {
        // Alternate who goes first, so a drift of the machine's speed hits both alike.
        const order = memtier === null ? [kvring] : round % 2 === 0 ? [kvring, reference] : [reference, kvring];
        for (const measure of order) {
          const m = await measured(measure, rate, round);
          results.push(m);
          process.stderr.write(`  round ${round + 1} ${m.tool} ${rate}/s: p50 ${Math.round(m.p50Us)} p99 ${Math.round(m.p99Us)} p99.9 ${Math.round(m.p999Us)} µs, CPU ${m.cpuUsPerRequest.toFixed(1)} µs/req${m.latenessP99Us === null ? '' : `, lateness p99 ${Math.round(m.latenessP99Us)} µs`}\n`);
        }
      }
    }
  } finally {
    await set.stop();
    await rm(work, { recursive: true, force: true });
  }
  process.stdout.write(`${fidelityTable(results, rates)}\n`);
  if (typeof a.json === 'string') {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(a.json, JSON.stringify(results, null, 2));
  }
  return 0;
}

/** The markdown table of medians per rate: kvring and memtier side by side, with ratios. */
export function fidelityTable(results: readonly Measurement[], rates: readonly number[]): string {
  const med = (tool: Measurement['tool'], rate: number, f: (m: Measurement) => number | null): number => {
    const xs = results.filter((m) => m.tool === tool && m.rate === rate).map(f).filter((x): x is number => x !== null && Number.isFinite(x));
    return median(xs);
  };
  const us = (x: number): string => (Number.isNaN(x) ? '–' : x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${Math.round(x)} µs`);
  const ratio = (a: number, b: number): string => (Number.isNaN(a) || Number.isNaN(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`);
  const rows = [
    '| rate | kvring p50 / p99 / p99.9 | kvring lateness p99 | kvring p99 from actual send | memtier p50 / p99 / p99.9 | p99 kvring ÷ memtier | same, both from actual send | CPU µs/req kvring / memtier |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const rate of rates) {
    const k = (f: (m: Measurement) => number | null): number => med('kvring', rate, f);
    const t = (f: (m: Measurement) => number | null): number => med('memtier', rate, f);
    rows.push(
      `| ${rate}/s | ${us(k((m) => m.p50Us))} / ${us(k((m) => m.p99Us))} / ${us(k((m) => m.p999Us))} | ${us(k((m) => m.latenessP99Us))} | ${us(k((m) => m.sentP99Us))} | ` +
        `${us(t((m) => m.p50Us))} / ${us(t((m) => m.p99Us))} / ${us(t((m) => m.p999Us))} | ${ratio(k((m) => m.p99Us), t((m) => m.p99Us))} | ${ratio(k((m) => m.sentP99Us), t((m) => m.p99Us))} | ` +
        `${k((m) => m.cpuUsPerRequest).toFixed(1)} / ${Number.isNaN(t((m) => m.cpuUsPerRequest)) ? '–' : t((m) => m.cpuUsPerRequest).toFixed(1)} |`,
    );
  }
  const n = Math.max(0, ...rates.map((r) => results.filter((m) => m.rate === r && m.tool === 'kvring').length));
  const others = results.map((m) => m.otherCpuFraction).filter((x): x is number => x !== null);
  const busy = others.length === 0 ? '' : ` Other processes took ${(median(others) * 100).toFixed(1)}% of the machine in the median measurement (worst ${(Math.max(...others) * 100).toFixed(0)}%; rounds above 5% were measured again up to --retries times).`;
  rows.push('', `Medians of ${n} alternating round(s).${busy}`);
  rows.push(
    "kvring's latency counts from the intended send (a request that waits for a busy connection or a late pacer counts that wait); memtier's from the actual send, which kvring also reports (its service time). " +
      "CPU is the generator's (kvring: its measured step, all threads; memtier: its whole process).",
  );
  return rows.join('\n');
}

runIfMain(import.meta.url, main);
