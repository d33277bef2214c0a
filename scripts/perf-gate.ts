import { execa } from 'execa';
import { access, appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvError } from '../errors/kv-error.js';
import { OUTCOME_EXIT_CODES } from '../bench/analysis/compare.js';
import { parseCliArgs, parsePercent } from '../bench/report/cli-args.js';
import { ReportUsageError } from '../bench/errors.js';
import { flagTable, type FlagSpec } from '../cli/flags.js';
import { runIfMain } from '../cli/main.js';

// The CI performance gate as one command, so a workflow only calls it and the test suite can run
// it end to end: build the baseline and the candidate side by side, count each build's
// instructions and system calls per request (`npm run costs`: valgrind and strace, deterministic),
// measure them in alternating rounds of `bench --preset ci`, judge with compare — on the counts
// when both sides have them, on the timed figures otherwise, and it says which — write the
// markdown summary (and append it to $GITHUB_STEP_SUMMARY when set) and exit with compare's code —
// 0 no regression, 1 regression, 2 could not compare (this script's own failures too), 3 untested
// (not a pass).
//
//   node dist/scripts/perf-gate.js --base origin/main            (a git ref: checked out in a worktree)
//   node dist/scripts/perf-gate.js --base_dir ../main-checkout   (a checkout already there)
//
// Why alternating rounds: a runner that speeds up or slows down during the job then moves both
// sides alike, and the rounds are independent trials for compare's rank test. The order within a
// round alternates too (base, candidate, candidate, base, …) so neither side always runs right
// after the other or first after a pause.

const OWN_CHECKOUT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH_JS = join('dist', 'bench', 'run', 'cli.js');
const COMPARE_JS = join('dist', 'bench', 'report', 'compare-cli.js');
const REPORT_JS = join('dist', 'bench', 'report', 'report-cli.js');
const COSTS_JS = join('dist', 'bench', 'costs', 'costs-cli.js');
const SERVER_JS = join('dist', 'server', 'main.js');

export const PERF_GATE_OPTIONS = {
  base: { type: 'string', describe: 'baseline as a git ref (commit, branch, tag) of the candidate\'s repository: checked out into a temporary worktree, built, removed afterwards' },
  base_dir: { type: 'string', describe: 'baseline as a checkout already on disk (instead of --base)' },
  candidate_dir: { type: 'string', defaultDescription: 'the checkout this script belongs to', describe: 'the candidate checkout (default: the one this script was built in)' },
  rounds: { type: 'number', default: 8, describe: 'alternating rounds; each is one bench run per side and gives compare one trial a side (≥ 3 to test at all; see the manual for how many a noisy runner needs)' },
  trials: { type: 'number', default: 2, describe: 'bench --trials of each run; the first --skip_trials of them are warm-up' },
  skip_trials: { type: 'number', default: 1, describe: 'compare --skip_trials: warm-up trials of each run left out (a fresh server is slower while its JIT compiles)' },
  max_regression: { type: 'string', default: '5%', describe: 'compare --max_regression' },
  bench_flags: { type: 'string', default: '', describe: 'more bench flags for every run, space-separated (after --preset ci, so they win)' },
  costs: {
    type: 'boolean',
    default: true,
    describe: "count each build's instructions (valgrind) and system calls (strace) per request and gate on them; the timed rounds are then information (--no-costs: the timed gate alone)",
  },
  costs_flags: { type: 'string', default: '', describe: 'more `npm run costs` flags for both measurements, space-separated (both sides always get the same)' },
  max_cost_regression: { type: 'string', default: '2%', describe: 'compare --max_cost_regression' },
  build: { type: 'boolean', default: true, describe: 'npm ci (when node_modules is missing) and npm run build in both checkouts (--no-build: use their dist/ as it is)' },
  report: { type: 'boolean', default: true, describe: 'render the last candidate run\'s charts into a self-contained index.html (--no-report to skip)' },
  out: { type: 'string', default: 'perf', describe: 'folder for baseline/ and candidate/ runs, charts/, compare.md and summary.md (emptied first)' },
} as const satisfies Record<string, FlagSpec>;

/** A step of the gate failed (a build, a bench run, the worktree): nothing was compared, exit 2. */
export class PerfGateError extends KvError {
  readonly code = 'KV_ERR_PERF_GATE';
  readonly exitCode = 2;
}

export type Side = 'baseline' | 'candidate';

export interface GatePlan {
  base: { ref: string } | { dir: string };
  candidateDir: string;
  rounds: number;
  trials: number;
  skipTrials: number;
  maxRegression: string;
  benchFlags: string[];
  costs: boolean;
  costsFlags: string[];
  maxCostRegression: string;
  build: boolean;
  report: boolean;
  outDir: string;
}

const USAGE =
  'Usage: $0 (--base <git ref> | --base_dir <checkout>) [options]\n\n' +
  'Builds baseline and candidate, runs `bench --preset ci` for each in alternating rounds, compares them and writes summary.md.\n' +
  'Exit code: compare\'s — 0 no regression, 1 regression, 2 could not compare, 3 untested (too few rounds to test: not a pass).';

/** Parses the gate's flags; throws ReportUsageError naming the flag. `{ help }` for --help. */
export function parsePerfGateArgs(args: string[], cwd: string = process.cwd()): GatePlan | { help: string } {
  const outcome = parseCliArgs('perf-gate', USAGE, PERF_GATE_OPTIONS, args);
  if (outcome.kind === 'help') return { help: outcome.text };
  const a = outcome.argv;
  if (a._.length > 0) throw new ReportUsageError(`perf-gate takes no positional arguments, got ${a._.join(' ')}; name the baseline with --base or --base_dir`);
  const ref = typeof a['base'] === 'string' && a['base'] !== '' ? a['base'] : null;
  const dir = typeof a['base_dir'] === 'string' && a['base_dir'] !== '' ? a['base_dir'] : null;
  if ((ref === null) === (dir === null)) throw new ReportUsageError('perf-gate needs exactly one baseline: --base <git ref> or --base_dir <checkout>');
  const rounds = Number(a['rounds']);
  const trials = Number(a['trials']);
  const skipTrials = Number(a['skip_trials']);
  if (!Number.isInteger(rounds) || rounds < 1) throw new ReportUsageError(`--rounds must be an integer ≥ 1, got ${String(a['rounds'])}`);
  if (!Number.isInteger(skipTrials) || skipTrials < 0 || !Number.isInteger(trials) || trials <= skipTrials) {
    throw new ReportUsageError(`--trials (${String(a['trials'])}) must be an integer above --skip_trials (${String(a['skip_trials'])})`);
  }
  const maxRegression = String(a['max_regression']);
  parsePercent('max_regression', maxRegression);
  const maxCostRegression = String(a['max_cost_regression']);
  parsePercent('max_cost_regression', maxCostRegression);
  const words = (flag: string): string[] =>
    String(a[flag])
      .split(/\s+/)
      .filter((f) => f !== '');
  return {
    base: ref !== null ? { ref } : { dir: resolvePath(cwd, dir!) },
    candidateDir: resolvePath(cwd, typeof a['candidate_dir'] === 'string' && a['candidate_dir'] !== '' ? a['candidate_dir'] : OWN_CHECKOUT),
    rounds,
    trials,
    skipTrials,
    maxRegression,
    benchFlags: words('bench_flags'),
    costs: a['costs'] !== false,
    costsFlags: words('costs_flags'),
    maxCostRegression,
    build: a['build'] !== false,
    report: a['report'] !== false,
    outDir: resolvePath(cwd, String(a['out'])),
  };
}

/** The sides in the order round `round` (0-based) runs them: base first in even rounds, candidate first in odd ones. */
export function roundOrder(round: number): Side[] {
  return round % 2 === 0 ? ['baseline', 'candidate'] : ['candidate', 'baseline'];
}

/** The bench arguments of one run: the ci preset, then the plan's flags, into <out>/<side>. */
export function benchArgs(plan: GatePlan, side: Side, round: number): string[] {
  return ['--preset', 'ci', '--trials', String(plan.trials), '--no-charts', '--quiet', ...plan.benchFlags, '--out', join(plan.outDir, side), '--label', `${side}-${round + 1}`];
}

/**
 * The costs CLI arguments measuring `side`'s server into <out>/<side>/costs.json. The candidate's
 * tool measures both sides, so both get the same sequence whatever the baseline's tool does.
 */
export function costsArgs(plan: GatePlan, side: Side, serverMain: string): string[] {
  return ['--server', serverMain, ...plan.costsFlags, '--out', join(plan.outDir, side, 'costs.json')];
}

/** What compare's exit code means, for the summary's last line. */
export function exitMeaning(code: number): string {
  if (code === OUTCOME_EXIT_CODES.pass) return 'no regression';
  if (code === OUTCOME_EXIT_CODES.regression) return 'a gated metric regressed';
  if (code === OUTCOME_EXIT_CODES.untested) return 'untested: too few trials to test — not a pass; raise --rounds';
  return 'could not compare';
}

/** The summary's head: what was measured against what, and how. Pure. */
export function gateHeader(p: { baseName: string; candidateName: string; plan: GatePlan; elapsedSec: number }): string {
  const { plan } = p;
  const flags = plan.benchFlags.length ? ` ${plan.benchFlags.join(' ')}` : '';
  const costsFlags = plan.costsFlags.length ? ` ${plan.costsFlags.join(' ')}` : '';
  const costs = plan.costs
    ? `Instructions and system calls per request of each build counted by \`npm run costs${costsFlags}\` (deterministic: they gate when both sides have them, at --max_cost_regression ${plan.maxCostRegression}); then `
    : 'No counts (--no-costs): ';
  return [
    `# kvring perf gate: candidate ${p.candidateName} vs baseline ${p.baseName}`,
    '',
    `${costs}${plan.rounds} alternating round${plan.rounds === 1 ? '' : 's'} of \`bench --preset ci --trials ${plan.trials}${flags}\` per side ` +
      `(the first ${plan.skipTrials} trial(s) of each run skipped as warm-up, so ${plan.rounds * (plan.trials - plan.skipTrials)} trial(s) a side), ` +
      `${plan.costs ? 'compared' : 'judged'} by \`compare --max_regression ${plan.maxRegression}\`; ${Math.round(p.elapsedSec)} s.`,
    '',
  ].join('\n');
}

interface Checkout {
  dir: string;
  /** "`main` (abc1234)" or the folder. */
  name: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function shortCommit(dir: string): Promise<string | null> {
  const r = await execa('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : null;
}

function progress(line: string): void {
  process.stderr.write(`perf-gate: ${line}\n`);
}

/** Runs a command in `cwd` and returns its exit code and output; one that cannot start is a PerfGateError. */
async function run(what: string, file: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ exitCode: number; output: string; stdout: string; stderr: string }> {
  const r = await execa(file, args, { cwd, env, reject: false, all: true, timeout: 30 * 60_000 });
  if (r.exitCode === undefined) throw new PerfGateError(`${what} did not run to its end in ${cwd}: ${r.shortMessage ?? 'killed'}`);
  return { exitCode: r.exitCode, output: String(r.all ?? ''), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

async function mustSucceed(what: string, file: string, args: string[], cwd: string): Promise<void> {
  const r = await run(what, file, args, cwd);
  if (r.exitCode !== 0) throw new PerfGateError(`${what} failed (exit ${r.exitCode}) in ${cwd}: ${r.output.slice(-1500)}`);
}

async function build(dir: string): Promise<void> {
  if (!(await exists(join(dir, 'node_modules')))) {
    progress(`npm ci in ${dir}`);
    await mustSucceed('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], dir);
  }
  progress(`npm run build in ${dir}`);
  await mustSucceed('npm run build', 'npm', ['run', 'build'], dir);
}

export async function runPerfGate(args: string[]): Promise<number> {
  const parsed = parsePerfGateArgs(args);
  if ('help' in parsed) {
    process.stdout.write(`${parsed.help}\n`);
    return 0;
  }
  const plan = parsed;
  const started = Date.now();
  await rm(plan.outDir, { recursive: true, force: true });
  await mkdir(plan.outDir, { recursive: true });
  const candidateCommit = await shortCommit(plan.candidateDir);
  const candidate: Checkout = { dir: plan.candidateDir, name: candidateCommit ? `\`${candidateCommit}\`` : `\`${plan.candidateDir}\`` };
  let worktree: string | null = null;
  try {
    let base: Checkout;
    if ('ref' in plan.base) {
      worktree = join(await mkdtemp(join(tmpdir(), 'kvring-perf-base-')), 'checkout');
      progress(`checking out ${plan.base.ref} into ${worktree}`);
      await mustSucceed(`git worktree add ${plan.base.ref}`, 'git', ['-C', plan.candidateDir, 'worktree', 'add', '--detach', worktree, plan.base.ref], plan.candidateDir);
      base = { dir: worktree, name: `\`${plan.base.ref}\` (${(await shortCommit(worktree)) ?? '?'})` };
    } else {
      const commit = await shortCommit(plan.base.dir);
      base = { dir: plan.base.dir, name: commit ? `\`${commit}\`` : `\`${plan.base.dir}\`` };
    }
    if (plan.build) {
      await build(base.dir);
      if (base.dir !== candidate.dir) await build(candidate.dir);
    }
    for (const c of [candidate, base]) {
      if (!(await exists(join(c.dir, BENCH_JS)))) {
        // A baseline from before the bench existed (or an unbuilt one) has nothing to measure:
        // that is "untested", not a pass.
        const md = `${gateHeader({ baseName: base.name, candidateName: candidate.name, plan, elapsedSec: (Date.now() - started) / 1000 })}**⚠️ untested:** ${c === base ? 'the baseline' : 'the candidate'} has no ${BENCH_JS} (${plan.build ? 'its build made none: it predates the bench' : 'not built; leave out --no-build'}), so nothing was measured. Exit ${OUTCOME_EXIT_CODES.untested}.\n`;
        await publish(plan, md);
        return OUTCOME_EXIT_CODES.untested;
      }
    }

    if (plan.costs) {
      // Counts first: they decide, and they do not care what else runs on the machine.
      for (const side of ['baseline', 'candidate'] as const) {
        const c = side === 'baseline' ? base : candidate;
        progress(`counting the ${side}'s instructions and system calls per request`);
        const measured = await run(`costs of the ${side}`, process.execPath, [join(candidate.dir, COSTS_JS), ...costsArgs(plan, side, join(c.dir, SERVER_JS))], candidate.dir);
        if (measured.stderr.trim() !== '') process.stderr.write(`${measured.stderr.trim()}\n`);
        if (measured.exitCode !== 0) throw new PerfGateError(`the costs of the ${side} could not be measured (exit ${measured.exitCode}): ${measured.output.slice(-1500)}`);
      }
    }

    for (let round = 0; round < plan.rounds; round++) {
      for (const side of roundOrder(round)) {
        const c = side === 'baseline' ? base : candidate;
        progress(`round ${round + 1}/${plan.rounds}: ${side}`);
        await mustSucceed(`bench run of the ${side} (round ${round + 1})`, process.execPath, [join(c.dir, BENCH_JS), ...benchArgs(plan, side, round)], c.dir);
      }
    }

    // The candidate's compare judges: it is the version this change ships.
    const compareMd = join(plan.outDir, 'compare.md');
    const compared = await run(
      'compare',
      process.execPath,
      [
        join(candidate.dir, COMPARE_JS),
        join(plan.outDir, 'baseline'),
        join(plan.outDir, 'candidate'),
        '--skip_trials',
        String(plan.skipTrials),
        '--max_regression',
        plan.maxRegression,
        '--max_cost_regression',
        plan.maxCostRegression,
        '--markdown',
        compareMd,
        '--chart_dir',
        join(plan.outDir, 'charts'),
      ],
      candidate.dir,
      // This script writes the step summary itself, once, with its own head.
      { GITHUB_STEP_SUMMARY: '' },
    );
    process.stdout.write(compared.stdout);
    if (compared.stderr !== '') process.stderr.write(`${compared.stderr}\n`);
    const code = compared.exitCode;

    if (plan.report) {
      const rendered = await run('report', process.execPath, [join(candidate.dir, REPORT_JS), join(plan.outDir, 'candidate', 'latest-run'), '--self_contained'], candidate.dir);
      // The charts are a convenience: their failure is reported, and the verdict stands.
      if (rendered.exitCode !== 0) progress(`the report of the last candidate run failed (exit ${rendered.exitCode}): ${rendered.stderr.slice(-500)}`);
    }

    const body = (await exists(compareMd)) ? await readFile(compareMd, 'utf8') : `compare wrote no summary:\n\n\`\`\`\n${compared.stderr.slice(-1500)}\n\`\`\`\n`;
    const md = `${gateHeader({ baseName: base.name, candidateName: candidate.name, plan, elapsedSec: (Date.now() - started) / 1000 })}${body}\nExit ${code}: ${exitMeaning(code)}.\n`;
    await publish(plan, md);
    return code;
  } finally {
    if (worktree !== null) {
      await execa('git', ['-C', plan.candidateDir, 'worktree', 'remove', '--force', worktree], { reject: false });
      await rm(dirname(worktree), { recursive: true, force: true });
    }
  }
}

/** summary.md in the out folder, and appended to $GITHUB_STEP_SUMMARY when a workflow set it. */
async function publish(plan: GatePlan, md: string): Promise<void> {
  const path = join(plan.outDir, 'summary.md');
  await writeFile(path, md);
  progress(`summary: ${path}`);
  const summary = process.env['GITHUB_STEP_SUMMARY'];
  if (summary) await appendFile(summary, `${md}\n`);
}

/** The manual's flag table. */
export function perfGateFlagTable(): string {
  return flagTable(PERF_GATE_OPTIONS);
}

runIfMain(import.meta.url, runPerfGate);
