import { access, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COST_METRICS, type CostMetric, type CostProfile } from '../analysis/costs.js';
import { parseCliArgs } from '../report/cli-args.js';
import { formatCount } from '../report/comparison-text.js';
import { ReportUsageError } from '../errors.js';
import { flagTable, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { checkSequenceSpec, COST_OPERATIONS, DEFAULT_COST_SEQUENCE, type CostSequenceSpec } from './sequence.js';
import { DEFAULT_MEASURE_OPTIONS, measureCosts, CostMeasurementError } from './measure.js';

// `npm run costs -- [--server <dist/server/main.js>] --out costs.json`: what a request costs a
// server build in instructions and system calls, per operation, counted so that the machine's
// load cannot move the figures (bench/costs/measure.ts says how). compare gates on two such files.

const OWN_SERVER = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..', 'server', 'main.js');
const D = DEFAULT_COST_SEQUENCE;

export const COSTS_OPTIONS = {
  server: { type: 'string', defaultDescription: "this checkout's dist/server/main.js", describe: "the server build to measure: its dist/server/main.js (another checkout's, or a patched copy)" },
  out: { type: 'string', default: 'costs.json', describe: 'where to write the counts (a folder gets costs.json inside it); compare finds costs.json beside the results it compares' },
  metrics: { type: 'string', default: COST_METRICS.join(','), describe: `what to count, comma-separated: instructions (valgrind's cachegrind), syscalls (strace)` },
  seed: { type: 'number', default: D.seed, describe: 'seed of the request sequence (both sides of a comparison need the same)' },
  key_space: { type: 'number', default: D.keySpace, describe: 'shared keys, all preloaded, so GETs hit and PUTs overwrite' },
  value_bytes: { type: 'number', default: D.valueBytes, describe: 'bytes of each PUT value' },
  pipeline: { type: 'number', default: D.pipeline, describe: 'requests per batch, sent closed-loop (≥ 2, so a reply written per request instead of per batch shows)' },
  short_requests: { type: 'number', default: D.shortRequests, describe: 'requests of each operation in the short runs' },
  long_requests: { type: 'number', default: D.longRequests, describe: "requests of the operation priced in its long run; the difference of long − short requests is what is priced" },
  warmup_requests: { type: 'number', default: D.warmupRequests, describe: 'GETs and DELETEs after the preload, before the measured phases, so every operation is compiled before it is priced' },
  repeats: { type: 'number', default: DEFAULT_MEASURE_OPTIONS.repeats, describe: 'runs of each sequence, all at once; the least count stands for it (a run can only do extra work: a collection or recompilation its twin did not need)' },
} as const satisfies Record<string, FlagSpec>;

const USAGE =
  'Usage: $0 [--server <dist/server/main.js>] [--out costs.json] [options]\n\n' +
  'Counts the user-space instructions (valgrind --tool=cachegrind, node --predictable) and system calls (strace -f -yy) a server spends per PUT, GET and DELETE, ' +
  'by the difference of a short and a long run of a fixed, seeded request sequence. A tool that is missing leaves its metric out, and says so.';

export interface CostsInvocation {
  serverMain: string;
  outFile: string;
  metrics: CostMetric[];
  sequence: CostSequenceSpec;
  repeats: number;
}

/** Parses the flags; throws ReportUsageError naming the flag. `{ help }` for --help. */
export function parseCostsArgs(args: string[], cwd: string = process.cwd()): CostsInvocation | { help: string } {
  const outcome = parseCliArgs('costs', USAGE, COSTS_OPTIONS, args);
  if (outcome.kind === 'help') return { help: outcome.text };
  const a = outcome.argv;
  if (a._.length > 0) throw new ReportUsageError(`costs takes no positional arguments, got ${a._.join(' ')}; name the server with --server`);
  const metrics = String(a['metrics'])
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '');
  const unknown = metrics.filter((m) => !(COST_METRICS as readonly string[]).includes(m));
  if (metrics.length === 0 || unknown.length > 0) throw new ReportUsageError(`--metrics: expected ${COST_METRICS.join(' and/or ')}, got "${String(a['metrics'])}"`);
  const sequence: CostSequenceSpec = {
    seed: Number(a['seed']),
    keySpace: Number(a['key_space']),
    valueBytes: Number(a['value_bytes']),
    pipeline: Number(a['pipeline']),
    shortRequests: Number(a['short_requests']),
    longRequests: Number(a['long_requests']),
    warmupRequests: Number(a['warmup_requests']),
  };
  try {
    // Named as the flags that set them: keySpace is --key_space.
    checkSequenceSpec(sequence, (field) => `--${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`);
  } catch (err) {
    throw new ReportUsageError((err as Error).message);
  }
  const repeats = Number(a['repeats']);
  if (!Number.isInteger(repeats) || repeats < 1) throw new ReportUsageError(`--repeats must be an integer ≥ 1, got ${String(a['repeats'])}`);
  return {
    repeats,
    serverMain: resolvePath(cwd, typeof a['server'] === 'string' && a['server'] !== '' ? a['server'] : OWN_SERVER),
    outFile: resolvePath(cwd, String(a['out'])),
    metrics: metrics as CostMetric[],
    sequence,
  };
}

/** The profile as a few lines for the terminal. Pure. */
export function profileText(p: CostProfile): string {
  const lines = [`costs of ${p.server} (node ${p.node}), per request, by the difference of ${p.sequence.longRequests} and ${p.sequence.shortRequests} requests:`];
  for (const op of COST_OPERATIONS) {
    const i = p.instructions ? `${formatCount('instructions', p.instructions.perRequest[op])} instructions` : 'instructions not measured';
    const s = p.syscalls ? `${formatCount('syscalls', p.syscalls.perRequest[op])} system calls` : 'system calls not measured';
    lines.push(`  ${op.toUpperCase().padEnd(6)} ${i}, ${s}`);
  }
  for (const [metric, why] of Object.entries(p.missing)) lines.push(`  ${metric} not measured: ${why}`);
  lines.push(`  (${Math.round(p.elapsedSec)} s)`);
  return `${lines.join('\n')}\n`;
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function runCosts(args: string[]): Promise<number> {
  const inv = parseCostsArgs(args);
  if ('help' in inv) {
    process.stdout.write(`${inv.help}\n`);
    return 0;
  }
  try {
    await access(inv.serverMain);
  } catch {
    throw new CostMeasurementError(`no server at ${inv.serverMain}: build it (npm run build) or name another with --server`);
  }
  const profile = await measureCosts({
    serverMain: inv.serverMain,
    sequence: inv.sequence,
    metrics: inv.metrics,
    repeats: inv.repeats,
    readyTimeoutMs: DEFAULT_MEASURE_OPTIONS.readyTimeoutMs,
    runTimeoutMs: DEFAULT_MEASURE_OPTIONS.runTimeoutMs,
    progress: (line) => process.stderr.write(`costs: ${line}\n`),
  });
  const out = (await isFolder(inv.outFile)) ? join(inv.outFile, 'costs.json') : inv.outFile;
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(profile, null, 2)}\n`);
  process.stdout.write(profileText(profile) + `written: ${out}\n`);
  return 0;
}

/** The manual's flag table. */
export function costsFlagTable(): string {
  return flagTable(COSTS_OPTIONS);
}

runIfMain(import.meta.url, runCosts);
