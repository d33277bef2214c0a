// The plan of a split run, written once by `npm run plan` and read by every generator (--plan):
// the bench flags that shape the load, with --start_at fixed to one instant, and — for the people
// who start the run — every step's total rate and planned start. Its planId is a hash of every
// setting that shapes the load; generators write it into their results and merge refuses parts
// whose ids differ. Generators given flags instead of a file compute the same id from them.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rawFlagValue } from '../../cli/flags.js';
import { BenchError } from '../errors.js';
import { parseBenchArgs, type BenchConfig, type ConfigContext, type ParseOutcome } from './config.js';
import { planSteps, stepTimeline, type PlannedStep } from './plan.js';

/** A plan file that cannot be read, is not a plan, or no longer matches its own id. */
export class PlanFileError extends BenchError {
  readonly code = 'KV_ERR_BENCH_PLAN_FILE';
  override readonly exitCode = 2;
}

export const PLAN_KIND = 'kvring-plan';
export const PLAN_VERSION = 1;

/** Settings that differ between the generators of one run, or only say where results go: not in the plan id. */
const PER_GENERATOR: readonly (keyof BenchConfig)[] = [
  'generatorIndex',
  'label',
  'outDir',
  'charts',
  'quiet',
  'json',
  'preset',
  'cleanup',
  'planFile',
  // How clients map onto OS threads depends on each machine's cores; the requests do not.
  'workerThreads',
  'placement',
  'redisServer',
  'serverFlags',
];

/** Flags a generator may give beside --plan: who it is and where its results go. */
export const LOCAL_FLAGS = ['plan', 'generator_index', 'out', 'label', 'charts', 'quiet', 'json'] as const;

export interface PlanFileStep {
  index: number;
  serverCount: number;
  workload: string;
  mode: string;
  phase: string;
  loadFraction: number | null;
  trial: number;
  /** Offered ops/s of all generators together; null for closed-loop steps. */
  targetOpsPerSec: number | null;
  perGeneratorOpsPerSec: number | null;
  /** Planned start (ISO 8601), and of the key-space preload before it (null: none). */
  startsAt: string;
  preloadAt: string | null;
}

export interface PlanFile {
  kind: typeof PLAN_KIND;
  version: typeof PLAN_VERSION;
  planId: string;
  createdAt: string;
  startAt: string;
  /** Planned end of the last step's slot. */
  endsAt: string;
  generators: number;
  /** The bench flags every generator runs with (--start_at an absolute instant). */
  args: string[];
  steps: PlanFileStep[];
}

/** The settings that shape the load, as plain JSON with sorted keys. */
function loadShape(config: BenchConfig): unknown {
  const record = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const k of PER_GENERATOR) delete record[k];
  return sortKeys(record);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The plan id of a configuration: 16 hex digits of SHA-256 over every setting that shapes the load. */
export function planIdOf(config: BenchConfig): string {
  return createHash('sha256').update(JSON.stringify(loadShape(config))).digest('hex').slice(0, 16);
}

/** Total ops/s of a planned step (fixed rates only: a plan never depends on a probe). */
export function stepTargetOpsPerSec(step: PlannedStep, config: Pick<BenchConfig, 'rateOpsPerSec'>): number | null {
  return step.phase === 'level' && config.rateOpsPerSec !== null ? config.rateOpsPerSec * (step.loadFraction ?? 1) : null;
}

/** The plan file for `config` (start_at absolute), run with `args`, written at `createdAt`. Pure. */
export function buildPlanFile(config: BenchConfig, args: readonly string[], createdAt: Date): PlanFile {
  if (config.startAt === null) throw new PlanFileError('npm run plan needs --start_at: an instant, or a time from now like +2m');
  const startMs = Date.parse(config.startAt);
  const steps = planSteps(config);
  const { times, endMs } = stepTimeline(steps, config);
  const iso = (offsetMs: number): string => new Date(startMs + offsetMs).toISOString();
  return {
    kind: PLAN_KIND,
    version: PLAN_VERSION,
    planId: planIdOf(config),
    createdAt: createdAt.toISOString(),
    startAt: config.startAt,
    endsAt: iso(endMs),
    generators: config.generators,
    args: [...args],
    steps: steps.map((s, i) => {
      const target = stepTargetOpsPerSec(s, config);
      return {
        index: s.index,
        serverCount: s.serverCount,
        workload: s.workload.name,
        mode: s.mode,
        phase: s.phase,
        loadFraction: s.loadFraction,
        trial: s.trial,
        targetOpsPerSec: target,
        perGeneratorOpsPerSec: target === null ? null : target / config.generators,
        startsAt: iso(times[i]!.startAtMs),
        preloadAt: times[i]!.preloadAtMs === null ? null : iso(times[i]!.preloadAtMs!),
      };
    }),
  };
}

/** Reads and checks a plan file; throws PlanFileError naming the file and what to do. */
export async function readPlanFile(path: string): Promise<PlanFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new PlanFileError(`cannot read the plan ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write it with npm run plan -- … --write ${path}`);
  }
  return parsePlanFile(text, path);
}

/** Checks the text of a plan file. Pure. */
export function parsePlanFile(text: string, path: string): PlanFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PlanFileError(`${path} is not JSON (${(err as Error).message}); write it again with npm run plan`);
  }
  const v = value as Partial<PlanFile> | null;
  if (v === null || typeof v !== 'object' || v.kind !== PLAN_KIND) throw new PlanFileError(`${path} is not a kvring plan (no "kind": "${PLAN_KIND}"); write one with npm run plan`);
  if (v.version !== PLAN_VERSION) throw new PlanFileError(`${path} is plan version ${String(v.version)}, this kvring reads version ${PLAN_VERSION}; write it again with this version's npm run plan`);
  if (typeof v.planId !== 'string' || !Array.isArray(v.args) || !v.args.every((a) => typeof a === 'string') || typeof v.startAt !== 'string' || typeof v.generators !== 'number') {
    throw new PlanFileError(`${path} lacks planId, args, startAt or generators; write it again with npm run plan`);
  }
  return v as PlanFile;
}

/** The flag names (snake_case) given in `args`, whichever spelling ("--key-space 5", "--no-charts", "--x=y"). */
export function flagNamesIn(args: readonly string[]): string[] {
  const names: string[] = [];
  for (const a of args) {
    const m = /^--(?:no-)?([A-Za-z][\w-]*)(?:=.*)?$/.exec(a);
    if (m !== null) names.push(m[1]!.replace(/-/g, '_'));
  }
  return names;
}

/**
 * The arguments a generator runs with: the plan's, then its own. Its own may only say who it is
 * and where results go (LOCAL_FLAGS): anything else would make it measure another plan.
 */
export function argsWithPlan(plan: PlanFile, localArgs: readonly string[], path: string): string[] {
  const foreign = flagNamesIn(localArgs).filter((n) => !(LOCAL_FLAGS as readonly string[]).includes(n));
  if (foreign.length > 0) {
    throw new PlanFileError(
      `with --plan ${path} the plan sets every flag that shapes the load: leave out --${[...new Set(foreign)].join(', --')} (or write a new plan with npm run plan); beside --plan give only --${LOCAL_FLAGS.slice(1).join(', --')}`,
    );
  }
  return [...plan.args, ...localArgs];
}

/** Throws when the configuration built from the plan's flags is not the plan the file names (the file was edited). */
export function checkPlanId(plan: PlanFile, config: BenchConfig, path: string): void {
  const id = planIdOf(config);
  if (id !== plan.planId) {
    throw new PlanFileError(`${path} says plan ${plan.planId} but its flags make plan ${id} here: it was edited, or written by another kvring version; write it again with npm run plan`);
  }
}

/**
 * The bench's command line as a generator runs it: the flags, or — with --plan — the plan file's
 * flags plus this generator's own, checked against the plan's id. Reads the plan file.
 */
export async function parseArgsWithPlan(args: string[], context: ConfigContext = { env: process.env }): Promise<ParseOutcome> {
  // Read before parsing: the plan supplies the other flags.
  const path = rawFlagValue(args, 'plan');
  if (path === undefined || args.includes('--help') || args.includes('-h')) return parseBenchArgs(args, context);
  const plan = await readPlanFile(path);
  const parsed = parseBenchArgs(argsWithPlan(plan, args, path), context);
  if (parsed.kind === 'config') checkPlanId(plan, parsed.config, path);
  return parsed;
}
