import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mean, median, quantile, stdev } from '../bench/analysis/statistics.js';
import { parseCliArgs } from '../bench/report/cli-args.js';
import { flagTable, type FlagSpec } from '../cli/flags.js';
import { runIfMain } from '../cli/main.js';
import { ReportUsageError } from '../bench/errors.js';
import { OUTCOME_EXIT_CODES } from '../bench/analysis/compare.js';
import { readRuns } from '../bench/report/load-results.js';
import { METRICS } from '../bench/analysis/compare.js';
import { disturbedBySteal } from '../bench/analysis/steal-limit.js';

// Proves the CI gate on this machine: how often does `npm run compare` fail (exit 1) when nothing
// changed (false alarms), and how often when the server really got slower (detection)?
//
// The server's --inject-cpu-us testing aid makes the "builds": A and A′ both do `inject` µs of
// extra CPU work per request (the same build twice), B does enough more that every request costs
// the server `slowdown` % more CPU (the measured change of CPU per request and of throughput are
// reported). The script runs the real bench (`dist/bench/run/cli.js`) the way the documented CI
// workflow does — short closed-loop runs, baseline and candidate alternating so drift in the
// machine's speed hits both — and judges each block of runs with the real compare CLI, once per
// gate metric. Comparison k uses the k-th block of runs on each side, so the comparisons are
// independent.
//
//   npm run build && node dist/scripts/gate-calibration.js            (≈ 17 min on 2 cores)

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench', 'run', 'cli.js');
const COMPARE = join(ROOT, 'bench', 'report', 'compare-cli.js');

export const CALIBRATION_OPTIONS = {
  comparisons: { type: 'number', default: 20, describe: 'A/A and A/B comparisons to judge (each)' },
  runs_per_side: { type: 'number', default: 8, describe: 'bench runs per side in one comparison (trials of the Mann–Whitney test)' },
  trials_per_run: { type: 'number', default: 2, describe: 'bench --trials of each run; the first --skip_trials of them are warm-up' },
  skip_trials: { type: 'number', default: 1, describe: 'compare --skip_trials: warm-up trials of each run left out (a fresh server is slower while its JIT compiles)' },
  inject_cpu_us: { type: 'number', default: 40, describe: 'CPU work per request of builds A and A′, µs (server --inject-cpu-us)' },
  natural_cpu_us: {
    type: 'number',
    default: 20,
    describe: "the server's own CPU per request besides the injection, µs (measured here: 20–23, A's requests cost 60–63 µs at --inject-cpu-us 40); sizes B so its requests cost `slowdown` % more",
  },
  slowdown: { type: 'number', default: 10, describe: 'how much more CPU every request of build B costs the server, percent' },
  gates: {
    type: 'string',
    default: 'throughput,server_cpu throughput server_cpu',
    describe: 'gates to prove, space-separated, each a compare --gate value (metrics joined by commas fail when any of them regresses): the same runs are judged once per gate',
  },
  step_duration: { type: 'number', default: 0.5, describe: 'seconds of the closed-loop measurement in each run' },
  workload: { type: 'string', default: 'put', describe: 'bench workload of each run (put needs no preload, so runs are short)' },
  max_regression: { type: 'string', default: '5%', describe: 'compare --max_regression' },
  budget_min: { type: 'number', default: 15, describe: 'stop starting new comparisons after this many minutes' },
  out: { type: 'string', default: 'reports/gate-calibration', describe: 'folder for the runs, the comparisons and calibration.md (emptied first)' },
} as const satisfies Record<string, FlagSpec>;

type Role = 'A' | 'A2' | 'B';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

/** Wilson 95 % interval of a proportion k/n: honest error bars for 20 trials. */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.96;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

interface ComparisonRecord {
  kind: 'A/A' | 'A/B';
  block: number;
  /** The compare --gate value this verdict was reached with (one metric, or several joined by commas). */
  gate: string;
  exitCode: number;
  /** Change of the gated metric's median, candidate vs baseline. */
  change: number | null;
  pWorse: number | null;
  /** Trials compare left out of this comparison for steal (both sides). */
  disturbed: number;
}

async function main(args: string[]): Promise<number> {
  const parsed = parseCliArgs('gate-calibration', 'Usage: node dist/scripts/gate-calibration.js [options]', CALIBRATION_OPTIONS, args);
  if (parsed.kind === 'help') {
    process.stdout.write(`${parsed.text}\n`);
    return 0;
  }
  const a = parsed.argv;
  const comparisons = Number(a['comparisons']);
  const perSide = Number(a['runs_per_side']);
  const inject = Number(a['inject_cpu_us']);
  const natural = Number(a['natural_cpu_us']);
  const slowdown = Number(a['slowdown']) / 100;
  const stepSec = Number(a['step_duration']);
  const trialsPerRun = Number(a['trials_per_run']);
  const skipTrials = Number(a['skip_trials']);
  const gates = String(a['gates'])
    .split(/[\s;]+/)
    .filter((g) => g !== '');
  const unknown = gates.flatMap((g) => g.split(',')).filter((m) => !(METRICS as readonly string[]).includes(m));
  if (gates.length === 0 || unknown.length > 0) throw new ReportUsageError(`--gates: expected metrics among ${METRICS.join(', ')}, got ${String(a['gates'])}`);
  if (!Number.isInteger(skipTrials) || skipTrials < 0 || !Number.isInteger(trialsPerRun) || trialsPerRun <= skipTrials) {
    throw new ReportUsageError(`--trials_per_run (${trialsPerRun}) must be an integer above --skip_trials (${skipTrials})`);
  }
  const budgetMs = Number(a['budget_min']) * 60_000;
  // Absolute: the bench and compare children run with the build folder as their cwd, this process
  // reads the runs back from its own — a relative --out named two different folders.
  const out = resolvePath(String(a['out']));
  for (const [flag, v] of [['comparisons', comparisons], ['runs_per_side', perSide]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ReportUsageError(`--${flag} must be a positive integer, got ${String(v)}`);
  }
  // B's injection: (natural + injectB) = (natural + inject) × (1 + slowdown): every request costs
  // the server `slowdown` more CPU; how much throughput that costs is measured and reported.
  const injectB = Math.round((natural + inject) * (1 + slowdown) - natural);
  const injectOf: Record<Role, number> = { A: inject, A2: inject, B: injectB };
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  const records: ComparisonRecord[] = [];
  const roles: Role[] = ['A', 'A2', 'B'];
  let runIndex = 0;
  process.stderr.write(
    `gate calibration: A/A′ inject ${inject} µs, B inject ${injectB} µs (${a['slowdown']}% more server CPU per request, counting ~${natural} µs of its own); ` +
      `${comparisons} × (A/A, A/B), ${perSide} runs a side, gates ${gates.join(', ')}\n`,
  );

  const blockName = (block: number): string => `block-${String(block).padStart(2, '0')}`;
  let blocksRun = 0;
  for (let block = 0; block < comparisons; block++) {
    if (Date.now() - started > budgetMs) {
      process.stderr.write(`budget of ${a['budget_min']} min reached after ${block} comparisons each\n`);
      break;
    }
    blocksRun++;
    for (let r = 0; r < perSide; r++) {
      // Rotate the order (A A′ B, A′ B A, B A A′) so no build always runs first after a pause.
      const order = roles.map((_, i) => roles[(i + runIndex) % roles.length]!);
      runIndex++;
      for (const role of order) {
        const res = await run(
          [
            BENCH,
            '--preset',
            'ci',
            '--mode',
            'closed',
            '--workloads',
            String(a['workload']),
            '--trials',
            String(trialsPerRun),
            '--step_duration',
            String(stepSec),
            `--server_flags=--snapshot-interval 0 --appendonly no --log-level warn --inject-cpu-us ${injectOf[role]}`,
            '--no-charts',
            '--quiet',
            '--out',
            join(out, 'runs', role, blockName(block)),
            '--label',
            `${role}-${block}-${r}`,
          ],
          120_000,
        );
        if (res.code !== 0) throw new Error(`bench run ${role} block ${block} failed with exit ${res.code} (rebuild with npm run build, or build a private copy: see README): ${res.stderr.slice(-2000)}`);
      }
    }
    for (const gate of gates) {
      for (const [kind, base, cand] of [
        ['A/A', 'A', 'A2'],
        ['A/B', 'A', 'B'],
      ] as const) {
        const res = await run(
          [COMPARE, join(out, 'runs', base, blockName(block)), join(out, 'runs', cand, blockName(block)), '--json', '--no-charts', '--skip_trials', String(skipTrials), '--max_regression', String(a['max_regression']), '--gate', gate],
          60_000,
        );
        // 0 pass, 1 regression, 3 untested (too few clean trials left to test): all are verdicts.
        if (!Object.values(OUTCOME_EXIT_CODES).includes(res.code)) throw new Error(`compare ${kind} block ${block} failed with exit ${res.code}: ${res.stderr}`);
        const c = JSON.parse(res.stdout) as { steps: { metrics: { metric: string; change: number; pWorse: number | null }[] }[]; disturbedTrials: { baseline: number; candidate: number } };
        // The change and p-value of the gate's first metric (the only one for a single-metric gate).
        const m = c.steps[0]?.metrics.find((x) => x.metric === gate.split(',')[0]);
        const disturbed = c.disturbedTrials.baseline + c.disturbedTrials.candidate;
        records.push({ kind, block, gate, exitCode: res.code, change: m?.change ?? null, pWorse: m?.pWorse ?? null, disturbed });
        process.stderr.write(`  block ${block} ${kind} gate ${gate}: exit ${res.code}, change ${m ? (m.change * 100).toFixed(1) : '?'}%, p=${m?.pWorse?.toFixed(3) ?? '-'}, ${disturbed} trial(s) left out for steal\n`);
      }
    }
  }

  // Every measured trial after the warm-up, per build: the size of B's change and the noise.
  // "kept": the trials compare judged (this script leaves --max_steal at its default).
  type Trials = { throughput: number[]; serverCpu: number[]; keptThroughput: number[]; keptServerCpu: number[]; steal: number[] };
  const empty = (): Trials => ({ throughput: [], serverCpu: [], keptThroughput: [], keptServerCpu: [], steal: [] });
  const trials: Record<Role, Trials> = { A: empty(), A2: empty(), B: empty() };
  for (const role of roles) {
    for (let block = 0; block < blocksRun; block++) {
      for (const { result: r } of await readRuns(join(out, 'runs', role, blockName(block)))) {
        for (const s of r.steps) {
          if (s.trial < skipTrials) continue;
          const kept = !disturbedBySteal(s.stealFraction);
          trials[role].throughput.push(s.achievedOpsPerSec);
          if (kept) trials[role].keptThroughput.push(s.achievedOpsPerSec);
          if (typeof s.stealFraction === 'number') trials[role].steal.push(s.stealFraction);
          if (typeof s.serverCpuUsPerRequest === 'number') {
            trials[role].serverCpu.push(s.serverCpuUsPerRequest);
            if (kept) trials[role].keptServerCpu.push(s.serverCpuUsPerRequest);
          }
        }
      }
    }
  }
  const elapsedMin = (Date.now() - started) / 60_000;
  const cv = (xs: number[]): number => (xs.length < 2 ? NaN : stdev(xs) / mean(xs));
  const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '—');
  const rows: string[] = [];
  const verdicts: boolean[] = [];
  for (const gate of gates) {
    const aa = records.filter((r) => r.gate === gate && r.kind === 'A/A');
    const ab = records.filter((r) => r.gate === gate && r.kind === 'A/B');
    const falseAlarms = aa.filter((r) => r.exitCode === OUTCOME_EXIT_CODES.regression).length;
    const detections = ab.filter((r) => r.exitCode === OUTCOME_EXIT_CODES.regression).length;
    // An untested comparison (exit 3) fails a CI job without being a detection: counted apart.
    const untested = [...aa, ...ab].filter((r) => r.exitCode === OUTCOME_EXIT_CODES.untested).length;
    const [faLo, faHi] = wilson(falseAlarms, aa.length);
    const [dLo, dHi] = wilson(detections, ab.length);
    const met = aa.length > 0 && falseAlarms / aa.length <= 0.05 && detections / Math.max(1, ab.length) >= 0.95;
    verdicts.push(met);
    rows.push(
      `| \`--gate ${gate}\` | ${falseAlarms} of ${aa.length}: **${pct(falseAlarms / Math.max(1, aa.length))}** (${pct(faLo)} – ${pct(faHi)}) | ` +
        `${detections} of ${ab.length}: **${pct(detections / Math.max(1, ab.length))}** (${pct(dLo)} – ${pct(dHi)}) | ` +
        `${untested} of ${aa.length + ab.length} | ${gate.includes(',') ? '—' : pct(quantile(aa.map((r) => Math.abs(r.change ?? 0)), 0.9))} | ${met ? 'met' : 'NOT met'} |`,
    );
  }
  const tpEffect = median(trials.B.throughput) / median(trials.A.throughput) - 1;
  const cpuEffect = trials.A.serverCpu.length && trials.B.serverCpu.length ? median(trials.B.serverCpu) / median(trials.A.serverCpu) - 1 : NaN;
  const md = [
    `## CI gate calibration (${new Date().toISOString().slice(0, 16).replace('T', ' ')}, ${elapsedMin.toFixed(1)} min)`,
    '',
    '| gate | A/A (same build twice): false alarms, 95% interval | A/B (B slower): detections, 95% interval | untested (exit 3) | A/A: p90 of \\|change\\| | targets ≤ 5% / ≥ 95% |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Size of B's slowdown, medians of all measured trials: server CPU per request ${pct(cpuEffect)} (A ${median(trials.A.serverCpu).toFixed(1)} µs, B ${median(trials.B.serverCpu).toFixed(1)} µs), ` +
      `throughput ${pct(tpEffect)} (A ${Math.round(median(trials.A.throughput))} ops/s, B ${Math.round(median(trials.B.throughput))} ops/s).`,
    `Noise of single trials (coefficient of variation, A / A′ / B): throughput ${pct(cv(trials.A.throughput))} / ${pct(cv(trials.A2.throughput))} / ${pct(cv(trials.B.throughput))}; ` +
      `server CPU per request ${pct(cv(trials.A.serverCpu))} / ${pct(cv(trials.A2.serverCpu))} / ${pct(cv(trials.B.serverCpu))}. ` +
      `Trials with more than 5% steal (left out by compare): ${roles.map((r) => trials[r].steal.filter((x) => disturbedBySteal(x)).length).reduce((x, y) => x + y, 0)} of ${roles.map((r) => trials[r].throughput.length).reduce((x, y) => x + y, 0)}; ` +
      `noise of the trials kept: throughput ${pct(cv(trials.A.keptThroughput))} / ${pct(cv(trials.A2.keptThroughput))} / ${pct(cv(trials.B.keptThroughput))}, ` +
      `server CPU per request ${pct(cv(trials.A.keptServerCpu))} / ${pct(cv(trials.A2.keptServerCpu))} / ${pct(cv(trials.B.keptServerCpu))}.`,
    '',
    `Setup: ${perSide} alternating bench runs a side per comparison (\`--preset ci --mode closed --workloads ${a['workload']} --trials ${trialsPerRun} --step_duration ${stepSec}\`, the first ${skipTrials} trial(s) of each run skipped as warm-up), ` +
      `server \`--inject-cpu-us ${inject}\` (A, A′) vs \`${injectB}\` (B); each gate = \`npm run compare -- <A runs> <B runs> --max_regression ${a['max_regression']} --gate <metric>\` ` +
      `(one-sided Mann–Whitney U, α = 0.05, ${perSide} vs ${perSide} trials, plus the threshold; trials with more than 5% steal left out) on the same runs. Machine load average (1 min) at the start ${loadAtStart.toFixed(2)}, at the end ${loadavg()[0]!.toFixed(2)}.`,
    '',
    `Rerun: \`npm run build && node dist/scripts/gate-calibration.js --comparisons ${comparisons} --runs_per_side ${perSide} --trials_per_run ${trialsPerRun} --skip_trials ${skipTrials} --gates "${gates.join(' ')}"\``,
    '',
  ].join('\n');
  await writeFile(join(out, 'calibration.md'), md);
  await writeFile(join(out, 'calibration.json'), `${JSON.stringify({ records, trials, injectA: inject, injectB, elapsedMin, gatesMet: Object.fromEntries(gates.map((g, i) => [g, verdicts[i]])) }, null, 2)}\n`);
  process.stdout.write(md);
  return 0;
}

export function calibrationFlagTable(): string {
  return flagTable(CALIBRATION_OPTIONS);
}

runIfMain(import.meta.url, main);
