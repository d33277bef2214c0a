import { cp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareCosts, type CostComparison, type CostProfile } from '../bench/analysis/costs.js';
import { DEFAULT_COST_SEQUENCE } from '../bench/costs/sequence.js';
import { DEFAULT_MEASURE_OPTIONS, measureCosts } from '../bench/costs/measure.js';
import { parseCliArgs, parsePercent } from '../bench/report/cli-args.js';
import { ReportUsageError } from '../bench/errors.js';
import { flagTable, type FlagSpec } from '../cli/flags.js';
import { runIfMain } from '../cli/main.js';
import { wilson } from './gate-calibration.js';

// Proves the deterministic gate (instructions and system calls per request, `npm run costs`) on
// this machine: how often does it fail when nothing changed, and does it catch real code
// regressions? The builds are copies of this checkout's dist/ in the --out folder, patched there —
// never committed:
//   A       dist/ as built (measured --comparisons + 1 times: A/A comparison k is A_k vs A_k+1)
//   extra   every command does a little more work (a loop of --extra_iterations after its handler):
//           ~2 % more instructions per request; measured --comparisons times, comparison k is A_k vs extra_k
//   syscall replies written one write per command instead of one per batch
//   md5     the store hashes every key with MD5 on each GET, SET and DEL
// Each comparison is judged by compareCosts, the function compare gates with, at --max_cost_regression.
//
//   npm run build && node dist/scripts/cost-gate-calibration.js        (≈ 46 min on 2 quiet shared vCPUs)

/** This build's dist/ (the script runs from dist/scripts/), and the checkout holding it. */
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHECKOUT = join(DIST, '..');

export const COST_CALIBRATION_OPTIONS = {
  comparisons: { type: 'number', default: 20, describe: 'A/A comparisons, and comparisons of A with the extra-work build' },
  others: { type: 'number', default: 2, describe: 'measurements of the syscall and md5 builds (each compared with a different A)' },
  extra_iterations: { type: 'number', default: 24, describe: "iterations of the extra build's loop after each command (sized for ~2 % more instructions per request)" },
  max_cost_regression: { type: 'string', default: '2%', describe: 'the gate\'s threshold (compare --max_cost_regression)' },
  out: { type: 'string', default: 'reports/cost-gate-calibration', describe: 'folder for the patched builds, every costs.json and calibration.md (emptied first)' },
} as const satisfies Record<string, FlagSpec>;

type Build = 'A' | 'extra' | 'syscall' | 'md5';

/** Text patches of dist/ that make each candidate build; each must apply exactly once. */
export function candidatePatches(extraIterations: number): Record<Exclude<Build, 'A'>, { file: string; find: string; replace: string }[]> {
  return {
    // A loop whose result is kept in a global, so the JIT cannot drop it: a small extra
    // computation per command, as a careless change would add.
    extra: [
      {
        file: 'server/connection.js',
        find: 'command.handler(ctx, this, args, argc, out);',
        replace: `command.handler(ctx, this, args, argc, out); { let h = 0; for (let i = 0; i < ${extraIterations}; i++) h = (Math.imul(h, 31) + i) | 0; globalThis.__kvringExtra = h; }`,
      },
    ],
    // Every reply leaves in its own write: the batching of replies undone.
    syscall: [{ file: 'server/connection.js', find: 'if (out.length > FLUSH_THRESHOLD_BYTES) {', replace: 'if (out.length > 0) {' }],
    md5: [
      { file: 'server/store.js', find: '    get(key) {', replace: "    get(key) {\n        createHash('md5').update(key).digest();" },
      { file: 'server/store.js', find: '    set(key, value) {', replace: "    set(key, value) {\n        createHash('md5').update(key).digest();" },
      { file: 'server/store.js', find: '    delete(key) {', replace: "    delete(key) {\n        createHash('md5').update(key).digest();" },
      { file: 'server/store.js', find: '/**\n * The in-memory hash table.', replace: "import { createHash } from 'node:crypto';\n/**\n * The in-memory hash table." },
    ],
  };
}

/** Copies dist/ into `dir` (with a node_modules link, so the copy resolves its packages) and applies `patches`. */
async function makeBuild(dir: string, patches: { file: string; find: string; replace: string }[]): Promise<string> {
  await cp(DIST, join(dir, 'dist'), { recursive: true });
  await symlink(join(CHECKOUT, 'node_modules'), join(dir, 'node_modules'));
  for (const p of patches) {
    const path = join(dir, 'dist', p.file);
    const text = await readFile(path, 'utf8');
    const at = text.indexOf(p.find);
    if (at === -1 || text.indexOf(p.find, at + 1) !== -1) throw new Error(`patch of ${p.file} does not apply once: "${p.find}" (rebuild with npm run build?)`);
    await writeFile(path, text.replace(p.find, p.replace));
  }
  return join(dir, 'dist', 'server', 'main.js');
}

interface Judged {
  kind: string;
  baseline: string;
  candidate: string;
  regressions: number;
  comparison: CostComparison;
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCliArgs('cost-gate-calibration', 'Usage: node dist/scripts/cost-gate-calibration.js [options]', COST_CALIBRATION_OPTIONS, args);
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const a = parsed.argv;
  const comparisons = Number(a['comparisons']);
  const others = Number(a['others']);
  const extraIterations = Number(a['extra_iterations']);
  for (const [flag, v] of [['comparisons', comparisons], ['others', others], ['extra_iterations', extraIterations]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ReportUsageError(`--${flag} must be a positive integer, got ${String(v)}`);
  }
  const threshold = parsePercent('max_cost_regression', a['max_cost_regression']);
  const thresholds = { instructions: threshold, syscalls: threshold };
  const out = resolvePath(String(a['out']));
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const patches = candidatePatches(extraIterations);
  const servers: Record<Build, string> = {
    A: await makeBuild(join(out, 'builds', 'A'), []),
    extra: await makeBuild(join(out, 'builds', 'extra'), patches.extra),
    syscall: await makeBuild(join(out, 'builds', 'syscall'), patches.syscall),
    md5: await makeBuild(join(out, 'builds', 'md5'), patches.md5),
  };
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  const profiles: Record<Build, CostProfile[]> = { A: [], extra: [], syscall: [], md5: [] };
  const measure = async (build: Build): Promise<CostProfile> => {
    const i = profiles[build].length;
    const t0 = Date.now();
    const p = await measureCosts({ serverMain: servers[build], sequence: DEFAULT_COST_SEQUENCE, metrics: ['instructions', 'syscalls'], ...DEFAULT_MEASURE_OPTIONS });
    profiles[build].push(p);
    await writeFile(join(out, `${build}-${String(i).padStart(2, '0')}.costs.json`), `${JSON.stringify(p, null, 2)}\n`);
    process.stderr.write(
      `${build}_${i}: ${(['put', 'get', 'delete'] as const).map((op) => `${op} ${Math.round(p.instructions?.perRequest[op] ?? NaN)} instr ${p.syscalls?.perRequest[op].toFixed(3) ?? '?'} sys`).join(', ')} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`,
    );
    return p;
  };
  const judged: Judged[] = [];
  const judge = (kind: string, b: Build, bi: number, c: Build, ci: number): void => {
    const comparison = compareCosts(profiles[b][bi]!, profiles[c][ci]!, thresholds);
    judged.push({ kind, baseline: `${b}_${bi}`, candidate: `${c}_${ci}`, regressions: comparison.regressions, comparison });
  };
  // Interleaved, so a change in the machine during the calibration meets every build.
  await measure('A');
  for (let k = 0; k < comparisons; k++) {
    await measure('A');
    judge('A/A', 'A', k, 'A', k + 1);
    await measure('extra');
    judge('extra', 'A', k + 1, 'extra', k);
    if (k < others) {
      await measure('syscall');
      judge('syscall', 'A', k + 1, 'syscall', k);
      await measure('md5');
      judge('md5', 'A', k + 1, 'md5', k);
    }
  }
  const elapsedMin = (Date.now() - started) / 60_000;
  const measurements = Object.values(profiles).reduce((n, ps) => n + ps.length, 0);
  const pct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}%`;
  const rows: string[] = [];
  for (const kind of ['A/A', 'extra', 'syscall', 'md5']) {
    const js = judged.filter((j) => j.kind === kind);
    const failed = js.filter((j) => j.regressions > 0).length;
    const [lo, hi] = wilson(failed, js.length);
    const changes = js.flatMap((j) => j.comparison.changes);
    const range = (metric: 'instructions' | 'syscalls'): string => {
      const xs = changes.filter((ch) => ch.metric === metric).map((ch) => ch.change);
      return xs.length ? `${pct(Math.min(...xs))} … ${pct(Math.max(...xs))}` : '—';
    };
    const what = kind === 'A/A' ? 'A vs A (same build)' : kind === 'extra' ? `A vs extra work per command (${extraIterations}-iteration loop)` : kind === 'syscall' ? 'A vs replies written one by one' : 'A vs MD5 of every key';
    rows.push(`| ${what} | ${failed} of ${js.length} (${(lo * 100).toFixed(0)}–${(hi * 100).toFixed(0)}%) | ${range('instructions')} | ${range('syscalls')} |`);
  }
  const per = (build: Build, metric: 'instructions' | 'syscalls', op: 'put' | 'get' | 'delete'): string => {
    const xs = profiles[build].map((p) => p[metric]?.perRequest[op] ?? NaN);
    return metric === 'instructions' ? `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}` : `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
  };
  const md = [
    `## Deterministic gate calibration (${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${elapsedMin.toFixed(1)} min, ${measurements} measurements)`,
    '',
    `| comparison | failed the gate (exit 1), 95% interval | change of instructions / request, per operation (min … max) | change of system calls / request (min … max) |`,
    '|---|---|---|---|',
    ...rows,
    '',
    `Per-request counts measured (min–max over the measurements): ` +
      (['A', 'extra', 'syscall', 'md5'] as Build[])
        .map((b) => `${b}: PUT ${per(b, 'instructions', 'put')} instr / ${per(b, 'syscalls', 'put')} syscalls, GET ${per(b, 'instructions', 'get')} / ${per(b, 'syscalls', 'get')}, DELETE ${per(b, 'instructions', 'delete')} / ${per(b, 'syscalls', 'delete')}`)
        .join('; ') +
      '.',
    '',
    `Threshold ${pct(threshold).replace('+', '')} on each count of each operation; sequence ${JSON.stringify(DEFAULT_COST_SEQUENCE)}; the four runs of each count at once; one measurement took ${(elapsedMin / measurements).toFixed(1)} min on average. Load average (1 min) at the start ${loadAtStart.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)}.`,
    '',
    `Rerun: \`npm run build && node dist/scripts/cost-gate-calibration.js --comparisons ${comparisons} --others ${others} --extra_iterations ${extraIterations}\``,
    '',
  ].join('\n');
  await writeFile(join(out, 'calibration.md'), md);
  await writeFile(join(out, 'calibration.json'), `${JSON.stringify({ judged: judged.map(({ comparison, ...rest }) => ({ ...rest, changes: comparison.changes })), elapsedMin }, null, 2)}\n`);
  process.stdout.write(md);
  return 0;
}

export function costCalibrationFlagTable(): string {
  return flagTable(COST_CALIBRATION_OPTIONS);
}

runIfMain(import.meta.url, main);
