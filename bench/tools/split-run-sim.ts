#!/usr/bin/env node
// `npm run split-sim`: a split run simulated on one machine, against one process at the same total
// rate. Starts two kvring servers, then per round: `npm run plan` for G generators, G bench
// processes of one thread each (their index from JOB_COMPLETION_INDEX, as in a Kubernetes Indexed
// Job), `npm run merge` of their parts; and one bench process with G threads at the same rate.
// Rounds alternate, so that the machine's drift lands on both. Prints per step the request totals,
// the percentiles of every round (their spread is the run-to-run noise) and the start skew across
// the generators. Everything runs as the real commands, as child processes.

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadavg } from 'node:os';
import { parseFlags, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { spawnServer, type RunningServer } from '../../server/spawn.js';
import { BenchConfigError } from '../errors.js';
import type { RunResult, StepResult } from '../results.js';
import { readResultsFile, readRuns } from '../report/load-results.js';

const execFileP = promisify(execFile);
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const BENCH = here('../run/cli.js');
const PLAN = here('../run/plan-cli.js');
const MERGE = here('../report/merge-cli.js');

export const SIM_OPTIONS = {
  generators: { type: 'number', default: 4, describe: 'generator processes of the split run (one thread each); the single process gets as many threads' },
  rounds: { type: 'number', default: 3, describe: 'split and single runs, alternating' },
  rate: { type: 'number', default: 10_000, describe: 'total ops/s the levels are percentages of' },
  load_levels: { type: 'string', default: '20,50,100', describe: 'levels, percent of --rate' },
  workloads: { type: 'string', default: 'put,get', describe: 'workloads of both runs' },
  step_duration: { type: 'number', default: 3, describe: 'seconds per step' },
  lead_s: { type: 'number', default: 6, describe: 'seconds from writing the plan to its start (the generators start meanwhile)' },
  out: { type: 'string', default: 'reports/split-sim', describe: 'folder for every run and the summary (split-sim.json)' },
} as const satisfies Record<string, FlagSpec>;

interface RoundResult {
  kind: 'split' | 'single';
  round: number;
  steps: StepResult[];
  loadBefore: number;
}

async function run(file: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileP(process.execPath, [file, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** The one run a folder of runs holds (readRuns skips the latest links). */
async function onlyRun(dir: string): Promise<RunResult> {
  return (await readRuns(dir))[0]!.result;
}

function loadArgs(o: Record<string, unknown>, servers: RunningServer[]): string[] {
  return [
    '--servers', servers.map((s) => s.address).join(','),
    '--server_counts', String(servers.length),
    '--rate', String(o['rate']),
    '--load_levels', String(o['load_levels']),
    '--workloads', String(o['workloads']),
    '--step_duration', String(o['step_duration']),
    '--key_space', '20000',
    '--key_prefix', 'sim:',
  ];
}

async function splitRound(o: Record<string, unknown>, servers: RunningServer[], dir: string, round: number): Promise<RoundResult> {
  const g = Number(o['generators']);
  const planPath = join(dir, 'plan.json');
  await mkdir(dir, { recursive: true });
  const loadBefore = loadavg()[0]!;
  await run(PLAN, [...loadArgs(o, servers), '--generators', String(g), '--num_threads', '1', '--start_at', `+${String(o['lead_s'])}s`, '--write', planPath]);
  await Promise.all(Array.from({ length: g }, (_, i) => run(BENCH, ['--plan', planPath, '--out', join(dir, 'parts'), '--no-charts', '--quiet'], { JOB_COMPLETION_INDEX: String(i) })));
  await run(MERGE, [join(dir, 'parts'), '--out', join(dir, 'merged')]);
  const merged = (await readResultsFile(join(dir, 'merged', 'results.json'))).result;
  return { kind: 'split', round, steps: merged.steps, loadBefore };
}

async function singleRound(o: Record<string, unknown>, servers: RunningServer[], dir: string, round: number): Promise<RoundResult> {
  const loadBefore = loadavg()[0]!;
  await run(BENCH, [...loadArgs(o, servers), '--num_threads', String(o['generators']), '--out', dir, '--no-charts', '--quiet']);
  return { kind: 'single', round, steps: (await onlyRun(dir)).steps, loadBefore };
}

const ms = (us: number): string => (us / 1000).toFixed(2);

/** The comparison table (markdown): per step, totals, percentiles of every round, start skew. Pure. */
export function simTable(rounds: readonly RoundResult[]): string {
  const split = rounds.filter((r) => r.kind === 'split');
  const single = rounds.filter((r) => r.kind === 'single');
  const rows = [
    '| step | target ops/s | requests split / single (Δ) | p50 ms split | p50 ms single | p99 ms split | p99 ms single | start skew ms: threads (releases), each split round |',
    '|---|---|---|---|---|---|---|---|',
  ];
  split[0]!.steps.forEach((s, i) => {
    const req = (list: RoundResult[]): number => list.reduce((a, r) => a + r.steps[i]!.requests, 0) / list.length;
    const delta = ((req(split) - req(single)) / req(single)) * 100;
    const each = (list: RoundResult[], f: (s: StepResult) => number): string => list.map((r) => ms(f(r.steps[i]!))).join(' / ');
    rows.push(
      `| ${i} ${s.workload} | ${s.targetOpsPerSec ?? 'closed'} | ${req(split).toFixed(0)} / ${req(single).toFixed(0)} (${delta >= 0 ? '+' : ''}${delta.toFixed(2)} %) | ` +
        `${each(split, (x) => x.total.latency.p50Us)} | ${each(single, (x) => x.total.latency.p50Us)} | ${each(split, (x) => x.total.latency.p99Us)} | ${each(single, (x) => x.total.latency.p99Us)} | ` +
        `${split.map((r) => `${(r.steps[i]!.start?.skewMs ?? NaN).toFixed(2)} (${(r.steps[i]!.start?.releaseSkewMs ?? NaN).toFixed(2)})`).join(' / ')} |`,
    );
  });
  return rows.join('\n');
}

export async function runSim(args: string[]): Promise<number> {
  const outcome = parseFlags({ command: 'split-sim', usage: 'Usage: $0 [options]', specs: SIM_OPTIONS, positional: false, usageError: (m) => new BenchConfigError(m) }, args);
  if (outcome.kind === 'help') {
    process.stdout.write(`${outcome.text}\n`);
    return 0;
  }
  const o = outcome.argv;
  const out = String(o['out']);
  const servers = await Promise.all([0, 1].map(() => spawnServer({ args: ['--snapshot-interval', '0', '--appendonly', 'no', '--log-level', 'warn'] })));
  const rounds: RoundResult[] = [];
  try {
    for (let r = 0; r < Number(o['rounds']); r++) {
      // Alternate which goes first, so a drift of the machine does not favour one side.
      const order = r % 2 === 0 ? (['split', 'single'] as const) : (['single', 'split'] as const);
      for (const kind of order) {
        const dir = join(out, `round${r}-${kind}`);
        process.stderr.write(`round ${r}: ${kind} (load average ${loadavg()[0]!.toFixed(2)})\n`);
        rounds.push(kind === 'split' ? await splitRound(o, servers, dir, r) : await singleRound(o, servers, dir, r));
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  await writeFile(join(out, 'split-sim.json'), `${JSON.stringify(rounds.map((r) => ({ ...r, steps: r.steps.map((s) => ({ ...s, total: { ...s.total, latencyHistogram: '', serviceTimeHistogram: '' }, operations: {} })) })), null, 1)}\n`);
  process.stdout.write(`${simTable(rounds)}\n\nload average (1 min) before each run: ${rounds.map((r) => `${r.kind}${r.round} ${r.loadBefore.toFixed(2)}`).join(', ')}\n`);
  return 0;
}

runIfMain(import.meta.url, runSim);
