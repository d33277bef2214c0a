#!/usr/bin/env node
// `npm run plan -- [bench flags] --start_at +2m --write plan.json`: writes the plan of a run split
// across --generators, once, for every generator to read with --plan. It measures nothing and
// connects to nothing; it fixes the start instant (a time from now becomes one instant), the
// thread count (whose default depends on each machine) and the plan id, and prints the schedule.
// Exit codes: 0 written, 2 bad flags.

import { writeFile } from 'node:fs/promises';
import { parseFlags, flagTable, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { BenchConfigError } from '../errors.js';
import { configFromFlags, OPTION_SPECS, presetDefaults } from './config.js';
import { buildPlanFile, flagNamesIn, LOCAL_FLAGS, type PlanFile } from './plan-file.js';

/** The plan's own flag; every other flag is the bench's. */
export const PLAN_OPTIONS = {
  write: { type: 'string', group: 'Plan:', describe: 'file to write the plan to (default: standard output)' },
} as const satisfies Record<string, FlagSpec>;

/** The bench's flags that shape the load: all but those each generator gives itself. */
export function planSpecs(): Record<string, FlagSpec> {
  const specs: Record<string, FlagSpec> = {};
  for (const [name, spec] of Object.entries(OPTION_SPECS)) if (!(LOCAL_FLAGS as readonly string[]).includes(name)) specs[name] = spec;
  return { ...specs, ...PLAN_OPTIONS };
}

const USAGE =
  'Usage: $0 [bench flags] --generators N --servers host:port,… --start_at +2m [--write plan.json]\n\n' +
  'Writes the plan of one run split across N generators: every generator runs it with npm run bench -- --plan plan.json ' +
  '(its index from --generator_index or $JOB_COMPLETION_INDEX). Takes the bench\'s flags except the per-generator ones ' +
  `(--${LOCAL_FLAGS.slice(1).join(', --')}); --start_at may be a time from now ("+90s", "+2m").`;

/** `args` without the flags named, in either spelling, with their values. */
function withoutFlags(args: readonly string[], names: readonly string[]): string[] {
  const spellings = new Set(names.flatMap((n) => [`--${n}`, `--${n.replace(/_/g, '-')}`]));
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    if (spellings.has(eq > 0 ? a.slice(0, eq) : a)) {
      if (eq < 0) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** Parses the plan command's flags and builds the plan, `nowMs` resolving a relative --start_at. Pure but for the clock passed in. */
export function planFromArgs(args: string[], nowMs: number): { kind: 'plan'; plan: PlanFile; write: string | null } | { kind: 'help'; text: string } {
  const outcome = parseFlags(
    { command: 'plan', usage: USAGE, specs: planSpecs(), positional: false, defaults: presetDefaults(args), usageError: (m) => new BenchConfigError(m) },
    args,
  );
  if (outcome.kind === 'help') return outcome;
  const config = configFromFlags(outcome.argv, { env: {}, nowMs, planning: true });
  if (config.startAt === null) throw new BenchConfigError('npm run plan needs --start_at: an instant (2026-05-01T12:00:00Z) or a time from now (+2m) by which every generator is up');
  // What every generator runs with: the flags as given, the start as one instant, the thread count fixed.
  const given = flagNamesIn(args);
  const runArgs = [...withoutFlags(args, ['write', 'start_at']), `--start_at=${config.startAt}`];
  if (!given.includes('num_threads')) runArgs.push(`--num_threads=${config.numThreads}`);
  const write = typeof outcome.argv['write'] === 'string' && outcome.argv['write'] !== '' ? outcome.argv['write'] : null;
  return { kind: 'plan', plan: buildPlanFile(config, runArgs, new Date(nowMs)), write };
}

export async function runPlan(args: string[]): Promise<number> {
  const outcome = planFromArgs(args, Date.now());
  if (outcome.kind === 'help') {
    process.stdout.write(`${outcome.text}\n`);
    return 0;
  }
  const { plan, write } = outcome;
  const text = `${JSON.stringify(plan, null, 2)}\n`;
  if (write === null) process.stdout.write(text);
  else await writeFile(write, text);
  const inSec = Math.round((Date.parse(plan.startAt) - Date.now()) / 1000);
  process.stderr.write(
    `plan ${plan.planId}: ${plan.generators} generator(s), ${plan.steps.length} steps from ${plan.startAt} (in ${inSec} s) to ${plan.endsAt}` +
      `${write === null ? '' : `, written to ${write}`}\n` +
      `start every generator before ${plan.startAt}: npm run bench -- --plan ${write ?? 'plan.json'} --generator_index <0…${plan.generators - 1}> (or $JOB_COMPLETION_INDEX)\n`,
  );
  return 0;
}

/** The manual's flag table of the plan command's own flag. */
export function planFlagTable(): string {
  return flagTable(PLAN_OPTIONS);
}

runIfMain(import.meta.url, runPlan);
