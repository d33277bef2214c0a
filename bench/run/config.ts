// The bench's flags, declared once: --help, validation, the presets, the README flag table
// (`node dist/bench/run/flags-doc.js`) and the `config` block of results.json all come from here.
// Names are snake_case as in the original Python project (--num_servers), each with a kebab-case alias.
// ~480 lines: most of it is the one declaration of ~50 flags and the checks between them; split,
// --help, validation and the documented table could disagree.

import { flagTable, parseFlags, rawFlagValue, type FlagSpec } from '../../cli/flags.js';
import { availableParallelism } from 'node:os';
import { parseChaos, type ChaosAction } from './chaos.js';
import { BenchConfigError } from '../errors.js';
import { canonicalAddress } from '../../protocol/address.js';
import type { LoadMode, TargetKind } from '../results.js';
import { parseSlo, type SloObjective } from '../analysis/slo.js';
import type { PlacementMode } from './placement.js';
import { DEFAULT_KEY_PREFIX, MAX_KEY_PREFIX_BYTES } from '../key-names.js';
import { KEY_DISTRIBUTIONS, parseWorkload, PRESET_NAMES, type KeyDistribution, type Workload } from '../workload.js';
import { JOB_COMPLETION_INDEX } from './generator-part.js';
import { partLabel } from '../analysis/merge-parts.js';
import { parseStartAt } from './start-clock.js';

type OptionSpec = FlagSpec & { group: string };

const TARGETS = 'Targets:';
const WORKLOAD = 'Workload:';
const LOAD = 'Load:';
const VERDICTS = 'Verdicts:';
const DISTRIBUTED = 'Several generators (docs/distributed.md):';
const OUTPUT = 'Output:';

/** Threads a run uses when --num_threads is not given: half the cores (the servers need the rest), at least 1. */
export const DEFAULT_THREADS = Math.max(1, Math.floor(availableParallelism() / 2));

/**
 * Servers a run starts when --num_servers is not given: as many as have a core of their own beside
 * the generator's threads, at most 3, at least 1 — on 2 cores that is 1, because a second server
 * would share a core and the scaling chart would measure the machine, not kvring.
 */
export const DEFAULT_SERVERS = Math.max(1, Math.min(3, availableParallelism() - DEFAULT_THREADS));

/** Every flag of `npm run bench`. Defaults live here and nowhere else. */
export const OPTION_SPECS = {
  target: { type: 'string', choices: ['kvring', 'redis'], default: 'kvring', group: TARGETS, describe: 'which servers to start: kvring (node dist/server/main.js) or redis (redis-server, same protocol)' },
  servers: { type: 'string', group: TARGETS, describe: 'use servers that already run, "host:port,host:port"; starts nothing (target "external")' },
  num_servers: { type: 'number', default: DEFAULT_SERVERS, defaultDescription: 'cores − threads, 1 to 3', group: TARGETS, describe: 'servers to start (ignored with --servers); the default gives each server a core of its own beside the generator threads' },
  server_counts: { type: 'string', default: '', group: TARGETS, describe: 'server counts to sweep, e.g. "1,2,4"; default 1..N (N = --num_servers or the --servers count)' },
  server_flags: { type: 'string', default: '--snapshot-interval 0 --appendonly no --log-level warn', group: TARGETS, describe: 'flags for each kvring server, space-separated; give them with "=": --server_flags="--inject-cpu-us 50" (replaces the default, which turns persistence off like redis --save "")' },
  redis_server: { type: 'string', default: 'redis-server', group: TARGETS, describe: 'redis-server binary for --target redis' },
  placement: { type: 'string', choices: ['auto', 'off'], default: 'auto', group: TARGETS, describe: 'auto: pin started servers and the generator to disjoint cores (taskset) when the machine has a core for each, and say so when it has not; off: never pin' },

  workloads: { type: 'string', default: 'put,get,delete', group: WORKLOAD, describe: `workloads measured one after another: put, get, delete, ${PRESET_NAMES.join(', ')}` },
  mix: { type: 'string', group: WORKLOAD, describe: 'measure one mixed workload instead: "get:90,put:10" (ops put, get, delete) or a preset a, b, c (YCSB A/B/C)' },
  key_space: { type: 'number', default: 100_000, group: WORKLOAD, describe: 'distinct keys (key:000000 …); GET and mixed workloads preload all of them' },
  key_prefix: { type: 'string', default: DEFAULT_KEY_PREFIX, group: WORKLOAD, describe: 'every key the run writes starts with this (shared keys <prefix>000000 …, DELETE keys <prefix>del:<thread>:…): keeps a run apart from other data on --servers' },
  cleanup: { type: 'boolean', default: false, group: WORKLOAD, describe: 'at the end, delete every key the run may have written (its key space and DELETE namespaces) from the servers: for runs against --servers that hold other data' },
  key_dist: { type: 'string', choices: [...KEY_DISTRIBUTIONS], default: 'uniform', group: WORKLOAD, describe: 'key popularity: uniform, zipfian (YCSB θ=0.99, key 0 hottest) or sequential (each thread sweeps its part)' },
  value_size: { type: 'string', default: '32', group: WORKLOAD, describe: 'PUT value bytes: fixed "32" or a uniform range "16-1024"' },
  seed: { type: 'number', default: 1, group: WORKLOAD, describe: 'seed of every key, operation and value-size sequence: the same seed replays the same requests' },
  verify: { type: 'boolean', default: false, group: WORKLOAD, describe: 'check every GET returns the value last written (nil after a DELETE); violations count as wrongValue errors. Uses 1 connection per server per thread and gives each thread its own keys' },

  mode: { type: 'string', choices: ['open', 'closed'], default: 'open', group: LOAD, describe: 'open: closed-loop max probe, then open-loop levels with latency from the intended send time; closed: one closed-loop step per point (the original Python project\'s style)' },
  load_levels: { type: 'string', default: '10,25,50,75,90,100,110', group: LOAD, describe: 'open-loop levels, percent of the measured maximum (or of --rate)' },
  rate: { type: 'number', group: LOAD, describe: 'total ops/s that --load_levels are percentages of; skips the max probe' },
  step_duration: { type: 'number', default: 3, group: LOAD, describe: 'seconds per step (max probe and each level); 3 s takes in a server\'s occasional millisecond pauses evenly, where 1 s steps catch one or none and the curve zigzags' },
  warmup_seconds: { type: 'number', default: 2, group: LOAD, describe: 'seconds of unmeasured GETs before the first step (open loop at --rate when given, else closed loop), so the generator\'s and the servers\' code is compiled before anything is measured; 0: one request per connection only' },
  num_requests: { type: 'number', group: LOAD, describe: 'requests per thread per step instead of --step_duration' },
  trials: { type: 'number', default: 1, group: LOAD, describe: 'measure every step K times, interleaved (all levels, then all levels again) so noise spreads evenly' },
  num_threads: { type: 'number', default: DEFAULT_THREADS, defaultDescription: 'half the cores, ≥ 1', group: LOAD, describe: 'load-generating clients, each with its own connections, key and operation streams and figures (the original project\'s threads; default: half the cores, at least 1)' },
  worker_threads: { type: 'number', default: 0, defaultDescription: '0 = min(num_threads, cores the generator may use)', group: LOAD, describe: 'OS threads that run the clients: clients beyond this share a thread\'s event loop instead of waiting for a core as a thread of their own; 0 = one per core the generator may use (cores minus started servers, ≥ 1), at most --num_threads' },
  connections: { type: 'number', default: 8, group: LOAD, describe: 'connections per server per thread' },
  pipeline: { type: 'number', default: 1, group: LOAD, describe: 'most requests in flight per connection' },
  timeout_ms: { type: 'number', default: 2000, group: LOAD, describe: 'a request without a reply after this long counts as a timeout error' },
  interval_ms: { type: 'number', default: 1000, group: LOAD, describe: 'length of the time-series intervals (and of the live display updates)' },

  slo: { type: 'string', group: VERDICTS, describe: 'latency objective like "p99<1ms": the summary gives the highest throughput meeting it per server count' },
  max_error_rate: { type: 'number', default: 1, group: VERDICTS, describe: 'percent of failed requests above which the run exits with code 3' },
  client_bound_lateness_us: { type: 'number', default: 1000, group: VERDICTS, describe: 'a step is client_bound when the p99 of how late the generator issued requests exceeds this (µs)' },
  chaos: { type: 'string', group: VERDICTS, describe: 'faults during the run, "kill:2@10s,restart:2@20s": kill (kill -9), stop (SIGSTOP, a hung server), cont (SIGCONT), restart (same port and data folder) of server N (1-based, start order) at a time since the first measured step starts (s or ms); needs started kvring servers and one server count (default: all)' },
  steal_retries: {
    type: 'number',
    default: 0,
    group: VERDICTS,
    describe: 'measure a step again, up to N times, when the hypervisor gave more than 5% of the machine\'s CPU to other tenants during it (steal in /proc/stat; every attempt stays in results.json, compare leaves the disturbed ones out)',
  },
  client_bound_elu: { type: 'number', default: 0.95, group: VERDICTS, describe: 'a step is client_bound when a worker\'s event loop was busier than this fraction (0..1); not for steps paced by spinning (above 80k requests/s per worker thread), whose loop never idles' },
  client_bound_wait: { type: 'number', default: 0.25, group: VERDICTS, describe: 'a step is client_bound when a worker thread waited for a CPU (kernel run queue) longer than this fraction of the step (0..1): a starved thread looks idle to its event loop' },

  generators: {
    type: 'number',
    default: 1,
    group: DISTRIBUTED,
    describe:
      'generator processes (machines, Kubernetes pods) that share this run: each runs the same plan from --start_at, drives 1/N of every step\'s rate with its own workers\' keys and streams, and writes its part; npm run merge adds the parts up. Needs --servers, --start_at, and --rate in open mode',
  },
  generator_index: {
    type: 'number',
    defaultDescription: `$${JOB_COMPLETION_INDEX}`,
    group: DISTRIBUTED,
    describe: `this generator's index, 0 … --generators − 1, each index on one generator; when absent, read from ${JOB_COMPLETION_INDEX}, which a Kubernetes Indexed Job sets in each pod (required with --generators > 1)`,
  },
  start_at: {
    type: 'string',
    group: DISTRIBUTED,
    describe: 'wall-clock instant the run\'s first step starts, ISO 8601 with a zone ("2026-05-01T12:00:00Z") or ms since the epoch; every later step starts at a fixed offset from it (npm run plan prints them). Generators started late, or whose clocks disagree, say so in their results',
  },
  plan: { type: 'string', group: DISTRIBUTED, describe: 'plan file written by npm run plan: every setting comes from it; beside it give only --generator_index and the output flags' },
  step_gap_ms: { type: 'number', default: 1000, group: DISTRIBUTED, describe: 'with --start_at: time between one step\'s planned end and the next step\'s planned start (its last replies, the next step\'s set-up)' },
  max_start_skew_ms: {
    type: 'number',
    default: 5,
    group: DISTRIBUTED,
    describe: 'with --start_at: a step that started later than this after its planned instant is noted in results.json; merge marks a step client_bound when its generators started further apart than this',
  },

  label: { type: 'string', default: '', group: OUTPUT, describe: 'name of the run (folder reports/<timestamp>-<label>); default: the target' },
  out: { type: 'string', default: 'reports', group: OUTPUT, describe: 'folder that receives the run folder and the "latest" link' },
  charts: { type: 'boolean', default: true, group: OUTPUT, describe: 'render charts and index.html into the run folder (--no-charts to skip)' },
  quiet: { type: 'boolean', default: false, group: OUTPUT, describe: 'no progress bars, no summary table' },
  json: { type: 'boolean', default: false, group: OUTPUT, describe: 'print results.json to stdout instead of the summary (progress still on stderr unless --quiet)' },
  preset: { type: 'string', choices: ['ci'], group: OUTPUT, describe: 'a named set of defaults; flags given explicitly still win. ci: 1 server, put+get, 4 levels, 3 trials, 0.5 s steps, 3 steal retries (< 1 min)' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTION_SPECS;

/** `--preset` values: defaults that replace the declared ones; explicit flags still win. */
export const PRESETS: Record<string, Partial<Record<OptionName, string | number | boolean>>> = {
  ci: {
    num_servers: 1,
    server_counts: '1',
    workloads: 'put,get',
    load_levels: '25,50,75,90',
    trials: 3,
    step_duration: 0.5,
    steal_retries: 3,
    key_space: 10_000,
    num_threads: 1,
    connections: 4,
    label: 'ci',
  },
};

/** Every setting of a run after defaults and validation; written into results.json as `config`. */
export interface BenchConfig {
  target: TargetKind;
  /** --servers addresses (external target), [] otherwise. */
  servers: string[];
  numServers: number;
  serverCounts: number[];
  /** --chaos as given, and parsed (sorted by time); null without --chaos. */
  chaosText: string | null;
  chaos: ChaosAction[] | null;
  serverFlags: string[];
  redisServer: string;
  placement: PlacementMode;
  workloads: Workload[];
  keySpace: number;
  keyPrefix: string;
  cleanup: boolean;
  keyDist: KeyDistribution;
  valueSizeMin: number;
  valueSizeMax: number;
  seed: number;
  verify: boolean;
  mode: LoadMode;
  /** Fractions of the maximum, e.g. 0.5 for 50 %. */
  loadLevels: number[];
  rateOpsPerSec: number | null;
  stepDurationSec: number;
  /** Unmeasured load before the first step, s (0: open the connections only). */
  warmupSec: number;
  numRequests: number | null;
  trials: number;
  numThreads: number;
  /** OS threads that host the clients, resolved (≥ 1, ≤ numThreads). */
  workerThreads: number;
  /** Connections per server per thread (1 under --verify). */
  connections: number;
  pipeline: number;
  timeoutMs: number;
  intervalMs: number;
  slo: SloObjective | null;
  /** 0..1 */
  maxErrorRate: number;
  clientBoundLatenessUs: number;
  clientBoundElu: number;
  /** 0..1 of a step a worker thread may wait for a CPU. */
  clientBoundWait: number;
  /** Re-measure a step disturbed by steal up to this many times. */
  stealRetries: number;
  /** --generators: processes that share the run (1: a whole run on one machine). */
  generators: number;
  /** This process's index among them (--generator_index or $JOB_COMPLETION_INDEX). */
  generatorIndex: number;
  /** --start_at as ISO 8601; null: steps start one after another, as soon as possible. */
  startAt: string | null;
  /** --plan: the plan file the settings came from; null when given as flags. */
  planFile: string | null;
  stepGapMs: number;
  maxStartSkewMs: number;
  label: string;
  outDir: string;
  charts: boolean;
  quiet: boolean;
  json: boolean;
  preset: string | null;
}

export type ParseOutcome = { kind: 'config'; config: BenchConfig } | { kind: 'help'; text: string };

function fraction(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) throw new BenchConfigError(`--${name} is a fraction in (0, 1], got ${String(value)}`);
  return value;
}

/**
 * --worker_threads as a number: 0 means one OS thread per core the generator may use — the cores
 * minus the servers the run starts, at least 1 — and never more threads than clients.
 */
export function resolveWorkerThreads(requested: number, clients: number, startedServers: number, cores: number = availableParallelism()): number {
  const generatorCores = Math.max(1, cores - startedServers);
  return Math.max(1, Math.min(clients, requested === 0 ? generatorCores : requested));
}

function intIn(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new BenchConfigError(`--${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function positive(name: string, value: unknown, max = Number.MAX_VALUE): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new BenchConfigError(`--${name} must be a number > 0${max < Number.MAX_VALUE ? ` and <= ${max}` : ''}, got ${String(value)}`);
  }
  return value;
}

function nonNegative(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) {
    throw new BenchConfigError(`--${name} must be a number from 0 to ${max}, got ${String(value)}`);
  }
  return value;
}

function numberList(name: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const values = parts.map(Number);
  if (parts.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new BenchConfigError(`--${name} must be a comma-separated list of numbers, e.g. 1,2,4; got "${text}"`);
  }
  return values;
}

/** One --servers entry in its canonical "host:port" form (the one address parser, named for the flag). */
export function parseServerEntry(text: string): string {
  try {
    return canonicalAddress(text);
  } catch (err) {
    throw new BenchConfigError(`--servers entry: ${(err as Error).message}`);
  }
}

function parseKeyPrefix(text: string): string {
  if (Buffer.byteLength(text) > MAX_KEY_PREFIX_BYTES || !/^[\x21-\x7e]*$/.test(text)) {
    throw new BenchConfigError(`--key_prefix must be at most ${MAX_KEY_PREFIX_BYTES} printable ASCII characters without spaces, got "${text}"`);
  }
  return text;
}

function parseValueSize(text: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  const min = m === null ? NaN : Number(m[1]);
  const max = m === null ? NaN : m[2] === undefined ? min : Number(m[2]);
  if (m === null || min < 1 || max < min || max > 64 * 1024 * 1024) {
    throw new BenchConfigError(`--value_size must be bytes "32" or a range "16-1024" (1 to 64 MiB, min <= max), got "${text}"`);
  }
  return [min, max];
}

type Argv = { [K in OptionName]?: unknown };

/** What toConfig reads besides the flags. */
export interface ConfigContext {
  /** The environment ($JOB_COMPLETION_INDEX). */
  env?: Readonly<Record<string, string | undefined>>;
  /** npm run plan: "now", which makes a relative --start_at ("+90s") possible. */
  nowMs?: number | null;
  /** npm run plan: the settings of every generator, none in particular (no index needed). */
  planning?: boolean;
}

/** --generator_index, else $JOB_COMPLETION_INDEX, else 0. */
function generatorIndexOf(a: Argv, env: Readonly<Record<string, string | undefined>>, generators: number, planning: boolean): number {
  const fromEnv = env[JOB_COMPLETION_INDEX];
  let index: unknown = a.generator_index;
  let source = '--generator_index';
  if (index === undefined && fromEnv !== undefined && fromEnv !== '') {
    index = /^\d+$/.test(fromEnv) ? Number(fromEnv) : NaN;
    source = `$${JOB_COMPLETION_INDEX} (${fromEnv})`;
  }
  // Two generators both defaulting to 0 would send the same requests: a split run names each one.
  if (index === undefined && generators > 1 && !planning) {
    throw new BenchConfigError(`--generators ${generators}: give this generator its --generator_index (0 … ${generators - 1}), or run it in a Kubernetes Indexed Job, which sets ${JOB_COMPLETION_INDEX}`);
  }
  if (index === undefined) return 0;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= generators) {
    throw new BenchConfigError(`${source} must be an integer from 0 to --generators − 1 (${generators - 1}), got ${String(index)}; give each generator its own index`);
  }
  return index;
}

/** The split-run settings, checked against the rest; throws BenchConfigError naming the flag. */
function checkSplitRun(c: BenchConfig): void {
  if (c.generators === 1) return;
  const n = `--generators ${c.generators}`;
  if (c.target !== 'external') throw new BenchConfigError(`${n} splits one run across machines that drive the same servers: give them with --servers host:port,…`);
  if (c.startAt === null) throw new BenchConfigError(`${n}: every generator must start each step at the same instant: give --start_at (npm run plan writes one into a plan file)`);
  if (c.mode === 'open' && c.rateOpsPerSec === null) {
    throw new BenchConfigError(`${n}: no generator may probe a maximum of its own: give --rate (the total of all generators), or measure the maximum first with --mode closed and merge`);
  }
  if (c.numRequests !== null) throw new BenchConfigError(`${n}: steps must last the same planned time on every generator: use --step_duration, not --num_requests`);
  if (c.stealRetries > 0) throw new BenchConfigError(`${n}: a generator measuring a step again would leave the common timeline: set --steal_retries 0`);
  if (c.verify && c.keySpace < c.generators * c.numThreads) {
    throw new BenchConfigError(`--verify gives each worker of every generator its own keys: --key_space (${c.keySpace}) must be >= --generators × --num_threads (${c.generators * c.numThreads})`);
  }
}

/** Turns parsed flags into a validated BenchConfig; throws BenchConfigError naming the flag. */
export function toConfig(a: Argv, context: ConfigContext = {}): BenchConfig {
  const str = (name: OptionName): string => (typeof a[name] === 'string' ? (a[name] as string) : '');
  const servers = str('servers') === '' ? [] : str('servers').split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseServerEntry);
  if (str('servers') !== '' && servers.length === 0) throw new BenchConfigError('--servers is empty: give host:port,host:port');
  if (new Set(servers).size !== servers.length) throw new BenchConfigError('--servers lists the same address twice');
  const target: TargetKind = servers.length > 0 ? 'external' : (str('target') as TargetKind);
  const numServers = servers.length > 0 ? servers.length : intIn('num_servers', a.num_servers, 1, 64);
  const chaosText = str('chaos').trim() === '' ? null : str('chaos').trim();
  if (chaosText !== null && target !== 'kvring') {
    throw new BenchConfigError(`--chaos kills and restarts servers the run started itself: use --target kvring${target === 'external' ? ' instead of --servers' : ' (restarting redis-server is not supported yet)'}`);
  }
  const serverCounts =
    chaosText !== null && str('server_counts').trim() === ''
      ? [numServers]
      : str('server_counts').trim() === ''
      ? Array.from({ length: numServers }, (_, i) => i + 1)
      : numberList('server_counts', str('server_counts')).map((n) => intIn('server_counts', n, 1, numServers));
  if (new Set(serverCounts).size !== serverCounts.length) throw new BenchConfigError('--server_counts lists a count twice');
  if (chaosText !== null && serverCounts.length !== 1) throw new BenchConfigError(`--chaos runs one schedule over one set of servers: give one --server_counts value (got ${serverCounts.join(',')}), or leave it out to use all ${numServers}`);
  const chaos = chaosText === null ? null : parseChaos(chaosText, serverCounts[0]!);

  const workloads = str('mix') !== '' ? [parseWorkload(str('mix'))] : str('workloads').split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseWorkload);
  if (workloads.length === 0) throw new BenchConfigError('--workloads is empty: give e.g. put,get,delete');
  if (new Set(workloads.map((w) => w.name)).size !== workloads.length) throw new BenchConfigError('--workloads lists a workload twice');

  const numThreads = intIn('num_threads', a.num_threads, 1, 256);
  const keySpace = intIn('key_space', a.key_space, 1, 100_000_000);
  const verify = a.verify === true;
  if (verify && keySpace < numThreads) throw new BenchConfigError(`--verify gives each thread its own keys: --key_space (${keySpace}) must be >= --num_threads (${numThreads})`);
  const [valueSizeMin, valueSizeMax] = parseValueSize(str('value_size'));
  const loadLevels = numberList('load_levels', str('load_levels')).map((p) => positive('load_levels', p, 1000) / 100);
  const numRequests = a.num_requests === undefined ? null : intIn('num_requests', a.num_requests, 1);
  const rate = a.rate === undefined ? null : positive('rate', a.rate);
  const seed = intIn('seed', a.seed, 0, 0xffffffff);
  const maxErrorPercent = a.max_error_rate;
  if (typeof maxErrorPercent !== 'number' || !(maxErrorPercent >= 0 && maxErrorPercent <= 100)) {
    throw new BenchConfigError(`--max_error_rate is a percentage from 0 to 100, got ${String(maxErrorPercent)}`);
  }
  const elu = a.client_bound_elu;
  if (typeof elu !== 'number' || !(elu > 0 && elu <= 1)) throw new BenchConfigError(`--client_bound_elu is a fraction in (0, 1], got ${String(elu)}`);
  const label = str('label').trim() === '' ? target : str('label').trim();
  if (!/^[A-Za-z0-9._-]+$/.test(label)) throw new BenchConfigError(`--label "${label}" must use only letters, digits, ".", "_" and "-" (it names a folder)`);
  const generators = intIn('generators', a.generators, 1, 10_000);
  const generatorIndex = generatorIndexOf(a, context.env ?? {}, generators, context.planning === true);
  let startAt: string | null = null;
  if (str('start_at').trim() !== '') {
    const ms = parseStartAt(str('start_at'), context.nowMs ?? null);
    if (ms === null) {
      throw new BenchConfigError(
        `--start_at must be an instant like 2026-05-01T12:00:00Z (with its zone) or ms since the epoch, got "${str('start_at')}"` +
          (context.nowMs === null || context.nowMs === undefined ? '; a time from now ("+90s") is for npm run plan, which fixes it once for every generator' : ' or a time from now like +90s'),
      );
    }
    startAt = new Date(ms).toISOString();
  }

  const config: BenchConfig = {
    target,
    servers,
    numServers,
    serverCounts,
    chaosText,
    chaos,
    serverFlags: str('server_flags').split(/\s+/).filter((s) => s !== ''),
    redisServer: str('redis_server'),
    placement: str('placement') as PlacementMode,
    workloads,
    keySpace,
    keyPrefix: parseKeyPrefix(str('key_prefix')),
    cleanup: a.cleanup === true,
    keyDist: str('key_dist') as KeyDistribution,
    valueSizeMin,
    valueSizeMax,
    seed,
    verify,
    mode: str('mode') as LoadMode,
    loadLevels,
    rateOpsPerSec: rate,
    stepDurationSec: positive('step_duration', a.step_duration, 3600),
    warmupSec: nonNegative('warmup_seconds', a.warmup_seconds, 600),
    numRequests,
    trials: intIn('trials', a.trials, 1, 100),
    numThreads,
    workerThreads: resolveWorkerThreads(intIn('worker_threads', a.worker_threads, 0, 256), numThreads, target === 'external' ? 0 : Math.max(...serverCounts)),
    connections: verify ? 1 : intIn('connections', a.connections, 1, 1000),
    pipeline: intIn('pipeline', a.pipeline, 1, 4096),
    timeoutMs: positive('timeout_ms', a.timeout_ms, 600_000),
    intervalMs: intIn('interval_ms', a.interval_ms, 50, 60_000),
    slo: str('slo') === '' ? null : parseSlo(str('slo')),
    maxErrorRate: maxErrorPercent / 100,
    clientBoundLatenessUs: positive('client_bound_lateness_us', a.client_bound_lateness_us),
    clientBoundElu: elu,
    clientBoundWait: fraction('client_bound_wait', a.client_bound_wait),
    stealRetries: intIn('steal_retries', a.steal_retries, 0, 20),
    label,
    outDir: str('out') === '' ? 'reports' : str('out'),
    charts: a.charts !== false,
    quiet: a.quiet === true,
    json: a.json === true,
    preset: str('preset') === '' ? null : str('preset'),
    generators,
    generatorIndex,
    startAt,
    planFile: str('plan') === '' ? null : str('plan'),
    stepGapMs: intIn('step_gap_ms', a.step_gap_ms, 0, 600_000),
    maxStartSkewMs: positive('max_start_skew_ms', a.max_start_skew_ms, 600_000),
  };
  checkSplitRun(config);
  // Parts of one run may write into one folder (a shared volume): their folders must differ.
  if (generators > 1) config.label = partLabel(label, generatorIndex);
  return config;
}

/**
 * Parses command-line arguments (without node and the script). Returns the help text for
 * --help; throws BenchConfigError for anything invalid, naming the flag.
 */
export function parseBenchArgs(args: string[], context: ConfigContext = { env: process.env }): ParseOutcome {
  const outcome = parseFlags(
    {
      command: 'bench',
      usage:
        'Usage: $0 [options]\n\nStarts servers, drives them with worker threads over the consistent-hash ring and writes ' +
        'reports/<timestamp>-<label>/results.json (+ .hgrm histograms, charts).\n' +
        'Default: 1..3 kvring servers × PUT, GET, DELETE; closed-loop max probe, then open-loop levels.',
      specs: OPTION_SPECS,
      positional: false,
      defaults: presetDefaults(args),
      usageError: (message) => new BenchConfigError(message),
    },
    args,
  );
  if (outcome.kind === 'help') return outcome;
  return { kind: 'config', config: toConfig(outcome.argv as Argv, context) };
}

/** The defaults of the --preset named in `args` (undefined without one); throws for an unknown preset. */
export function presetDefaults(args: readonly string[]): Partial<Record<OptionName, string | number | boolean>> | undefined {
  // Read before parsing: the preset changes the defaults.
  const preset = rawFlagValue(args, 'preset');
  if (preset !== undefined && PRESETS[preset] === undefined) {
    throw new BenchConfigError(`--preset "${preset}" is unknown; choose one of: ${Object.keys(PRESETS).join(', ')}`);
  }
  return preset !== undefined ? PRESETS[preset] : undefined;
}

/** Parsed flags of a tool that takes the bench's flags (npm run plan) into a BenchConfig. */
export function configFromFlags(argv: Record<string, unknown>, context: ConfigContext): BenchConfig {
  return toConfig(argv as Argv, context);
}

/** The manual's flag table, generated from OPTION_SPECS so it says what --help says. */
export function flagTableMarkdown(): string {
  return flagTable(OPTION_SPECS);
}
