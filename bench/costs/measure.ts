// Measures what a request costs one server build in counts that do not depend on time: user-space
// instructions under valgrind's cachegrind, and system calls under strace, each from four runs of
// a fixed sequence (bench/costs/sequence.ts) by the difference method (bench/analysis/costs.ts).
//
// Why these tools and flags: `node --predictable` makes V8 single-threaded and deterministic (no
// concurrent compiler or GC threads, fixed random and hash seeds), so the same requests execute
// the same instructions on every run; cachegrind counts them without simulating caches
// (--cache-sim=no: ~2× faster, and the counts are all the gate uses). `strace -f -yy` logs every
// system call of every thread with what each descriptor is, so the wake-ups between threads can be
// told from the socket reads and writes. Neither count moves with the machine's load, which is why
// this gate works on a shared 2-vCPU VM where time moves ±20–40 % from run to run. The four runs
// of a count go at once (see measureCosts).

import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvError } from '../../errors/kv-error.js';
import { spawnServer, ServerStartError, type RunningServer } from '../../server/spawn.js';
import { COST_METRICS, COSTS_FORMAT, leastOfRepeats, metricCosts, parseCachegrindTotal, parseStraceLog, gatedCalls, type CostMetric, type CostProfile, type MetricCosts } from '../analysis/costs.js';
import { driveSequence, CostRunError } from './driver.js';
import { buildCostSequence, COST_SEQUENCES, type CostSequenceName, type CostSequenceSpec } from './sequence.js';

/** A cost measurement could not be made (the server would not start, a tool failed mid-run). */
export class CostMeasurementError extends KvError {
  readonly code = 'KV_ERR_COSTS_MEASURE';
  readonly exitCode = 2;
}

/**
 * V8 flags of every measured server: one thread and fixed seeds (--predictable, see the head of
 * this file), and nothing that looks at the clock. Each flag removed a wobble measured here between
 * runs of one build:
 * - --predictable-gc-schedule fixes the young generation and the heap's growth and turns the
 *   memory reducer off: V8 sized the heap from how fast its collections ran (PUT moved by 50 %).
 * - --no-incremental-marking makes each full collection one atomic step: incremental marking sizes
 *   its steps by time (2–8 M instructions of marking and write barriers a run).
 * - --no-baseline-batch-compilation compiles each function for Sparkplug when its own use says so:
 *   in batches, a hot function waited in the interpreter until other functions — timer callbacks
 *   that run once a second, so more of them on a slower run — filled the batch (up to 2.8 M
 *   instructions a run, 1.5 % of every operation's count between two measurements).
 * What still moves follows wall time — the server's 1 s timer (~70 k instructions a tick: 1.37 M
 * for 20 idle seconds under valgrind here) and the event loop's extra turns on a loaded machine —
 * and DEFAULT_COST_SEQUENCE is sized to keep it small.
 */
export const PREDICTABLE_NODE_FLAGS = ['--predictable', '--predictable-gc-schedule', '--no-incremental-marking', '--no-baseline-batch-compilation', '--random-seed=1', '--hash-seed=1'];

/** Server flags of every measured server: no persistence, no logging, so only requests cost. */
export const MEASURED_SERVER_FLAGS = ['--snapshot-interval', '0', '--appendonly', 'no', '--log-level', 'warn'];

export const CACHEGRIND_TOOL = 'valgrind --tool=cachegrind --cache-sim=no, node --predictable';
export const STRACE_TOOL = 'strace -f -yy, node --predictable; waits, thread hand-offs, wake-ups and heap mappings not counted';

export interface MeasureOptions {
  /** The server's dist/server/main.js. */
  serverMain: string;
  sequence: CostSequenceSpec;
  metrics: readonly CostMetric[];
  /** Runs of each sequence; the least count stands for it (leastOfRepeats). */
  repeats: number;
  /** A server that printed no ready line in this long failed (valgrind start-up is ~10 s). */
  readyTimeoutMs: number;
  /** One run, start to exit. */
  runTimeoutMs: number;
  progress?: (line: string) => void;
}

export const DEFAULT_MEASURE_OPTIONS = { repeats: 2, readyTimeoutMs: 180_000, runTimeoutMs: 900_000 } as const;

/** Why a tool cannot count here, or null when it can (it ran a trivial program successfully). */
export async function toolProblem(metric: CostMetric): Promise<string | null> {
  const probe =
    metric === 'instructions'
      ? { file: 'valgrind', args: ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', 'true'], pkg: 'valgrind' }
      : { file: 'strace', args: ['-f', '-c', '-o', '/dev/null', 'true'], pkg: 'strace' };
  const r = await execa(probe.file, probe.args, { reject: false, timeout: 60_000, all: true });
  if (r.exitCode === 0) return null;
  if ((r as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String(r.message ?? ''))) return `${probe.file} is not installed (apt-get install ${probe.pkg})`;
  return `${probe.file} cannot run here (exit ${String(r.exitCode)}): ${String(r.all ?? '').trim().split('\n').slice(-2).join(' ')}`;
}

interface Run {
  metric: CostMetric;
  sequence: CostSequenceName;
  repeat: number;
}

/** One server run of one sequence under one tool; returns the tool's report as text. */
async function runOnce(run: Run, options: MeasureOptions, workDir: string, beforeShutdown: () => Promise<void>): Promise<string> {
  const report = join(workDir, `${run.metric}-${run.sequence}-${run.repeat}.out`);
  const dataDir = await mkdtemp(join(workDir, 'data-'));
  const launcher = run.metric === 'instructions' ? ['valgrind', '--tool=cachegrind', '--cache-sim=no', `--cachegrind-out-file=${report}`] : ['strace', '-f', '-yy', '-o', report];
  const seq = buildCostSequence(options.sequence, run.sequence);
  const expected = seq.batches.reduce((n, b) => n + b.requests, 0);
  const what = `the ${run.sequence} sequence under ${run.metric === 'instructions' ? 'cachegrind' : 'strace'}`;
  let server: RunningServer;
  try {
    server = await spawnServer({
      main: options.serverMain,
      nodeArgs: PREDICTABLE_NODE_FLAGS,
      launcher,
      dir: dataDir,
      args: MEASURED_SERVER_FLAGS,
      env: { NODE_OPTIONS: '' },
      readyTimeoutMs: options.readyTimeoutMs,
      timeoutMs: options.runTimeoutMs,
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    if (!(err instanceof ServerStartError)) throw err;
    throw new CostMeasurementError(`${what}: ${err.message.split('\n')[0]!}: ${err.stderr.slice(-1500)}`);
  }
  try {
    const outcome = await driveSequence(server.host, server.port, seq.batches, beforeShutdown);
    if (outcome.errors > 0) throw new CostRunError(`${what}: ${outcome.errors} error repl${outcome.errors === 1 ? 'y' : 'ies'}, the first "${outcome.firstError}": the counts would price errors, not requests`);
    if (outcome.requests !== expected) throw new CostRunError(`${what}: ${outcome.requests} replies to ${expected} requests`);
    const status = await server.exited;
    if (status.code !== 0) throw new CostMeasurementError(`${what}: exited with code ${status.code} (signal ${status.signal}) after SHUTDOWN NOSAVE: ${server.stderrText().slice(-1500)}`);
    return await readFile(report, 'utf8');
  } catch (err) {
    server.kill('SIGKILL');
    await server.exited;
    throw err;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * Holds every run's SHUTDOWN until all `count` runs finished their sequences (or one failed), so
 * the servers of a measurement live through the same wall-clock time.
 */
class ShutdownTogether {
  private arrived = 0;
  private release!: () => void;
  readonly all = new Promise<void>((resolve) => {
    this.release = resolve;
  });

  constructor(private readonly count: number) {}

  arrive(): Promise<void> {
    if (++this.arrived >= this.count) this.release();
    return this.all;
  }

  /** A run failed: the others shut down now rather than wait for it. */
  abandon(): void {
    this.release();
  }
}

/**
 * Measures the build whose server is `options.serverMain`. A metric whose tool is missing or cannot
 * run here is null in the profile, with the reason in `missing`; any other failure throws.
 */
export async function measureCosts(options: MeasureOptions): Promise<CostProfile> {
  const started = Date.now();
  const missing: CostProfile['missing'] = {};
  const metrics: CostMetric[] = [];
  for (const metric of COST_METRICS) if (!options.metrics.includes(metric)) missing[metric] = `not asked for (--metrics ${options.metrics.join(',')})`;
  for (const metric of options.metrics) {
    const problem = await toolProblem(metric);
    if (problem === null) metrics.push(metric);
    else {
      missing[metric] = problem;
      options.progress?.(`${metric}: not measured: ${problem}`);
    }
  }
  const workDir = await mkdtemp(join(tmpdir(), 'kvring-costs-'));
  try {
    // Every run of a count (four sequences × repeats) starts together and shuts down together:
    // what still moves with wall time (the server's 1 s timer, ~70 k instructions a tick) is then
    // about the same in each run, and the difference method removes it. Staggered two at a time,
    // the runs' lifetimes differed with the machine's load and DELETE's count moved by 0.8 %
    // between identical builds.
    const profile: CostProfile = {
      format: COSTS_FORMAT,
      server: options.serverMain,
      node: process.version,
      sequence: options.sequence,
      instructions: null,
      syscalls: null,
      missing,
      elapsedSec: 0,
    };
    const repeats = Array.from({ length: Math.max(1, options.repeats) }, (_, i) => i);
    for (const metric of metrics) {
      const runs: Run[] = COST_SEQUENCES.flatMap((sequence) => repeats.map((repeat) => ({ metric, sequence, repeat })));
      const together = new ShutdownTogether(runs.length);
      const texts = await Promise.all(
        runs.map((run) =>
          runOnce(run, options, workDir, () => together.arrive()).catch((err: unknown) => {
            together.abandon();
            throw err;
          }),
        ),
      );
      const bySequence = Object.fromEntries(COST_SEQUENCES.map((s) => [s, texts.filter((_, i) => runs[i]!.sequence === s)])) as Record<CostSequenceName, string[]>;
      profile[metric] = metric === 'instructions' ? instructionCosts(bySequence, options.sequence) : syscallCosts(bySequence, options.sequence);
      options.progress?.(`${metric}: ${runs.length} runs (${COST_SEQUENCES.join(', ')} × ${repeats.length}) measured`);
    }
    profile.elapsedSec = (Date.now() - started) / 1000;
    return profile;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

function instructionCosts(texts: Record<CostSequenceName, string[]>, spec: CostSequenceSpec): MetricCosts {
  const totals = {} as Record<CostSequenceName, number>;
  const repeats = {} as Record<CostSequenceName, number[]>;
  for (const s of COST_SEQUENCES) {
    repeats[s] = texts[s].map((text) => {
      const n = parseCachegrindTotal(text);
      if (n === null) throw new CostMeasurementError(`cachegrind wrote no instruction total for the ${s} sequence`);
      return n;
    });
    totals[s] = leastOfRepeats(repeats[s]);
  }
  return { ...metricCosts(CACHEGRIND_TOOL, totals, spec), repeats };
}

function syscallCosts(texts: Record<CostSequenceName, string[]>, spec: CostSequenceSpec): MetricCosts {
  const totals = {} as Record<CostSequenceName, number>;
  const repeats = {} as Record<CostSequenceName, number[]>;
  const names = {} as Record<CostSequenceName, Record<string, number>>;
  for (const s of COST_SEQUENCES) {
    const counts = texts[s].map((text) => {
      const c = parseStraceLog(text);
      if (c === null) throw new CostMeasurementError(`strace logged no system call for the ${s} sequence`);
      return c;
    });
    repeats[s] = counts.map(gatedCalls);
    totals[s] = leastOfRepeats(repeats[s]);
    // The per-name table of the run that stands for the sequence.
    names[s] = counts[repeats[s].indexOf(totals[s])]!;
  }
  return { ...metricCosts(STRACE_TOOL, totals, spec, names), repeats };
}
