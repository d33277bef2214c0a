import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../results.js';
import { validateRunResult } from '../results-check.js';
import { combineTrials, dropFirstTrials } from '../analysis/merge-trials.js';
import { ResultsInputError } from '../errors.js';

// Reads results.json files for report, compare and merge: a file, a run folder (holding
// results.json), or a folder of run folders (every run in it, oldest first). Everything read is
// checked against the schema; a problem is a ResultsInputError naming the file.

export interface LoadedRun {
  /** The results.json that was read. */
  path: string;
  result: RunResult;
}

const RESULTS_FILE = 'results.json';
/** At most this many schema problems are quoted in an error message. */
const PROBLEMS_SHOWN = 5;

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}

/** Parses and validates one results.json. */
export async function readResultsFile(path: string): Promise<LoadedRun> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ResultsInputError(`cannot read ${path}: ${(err as Error).message}; pass a results.json or the run folder that holds it`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ResultsInputError(`${path} is not valid JSON (${(err as Error).message}); pass the results.json a bench run wrote`);
  }
  const problems = validateRunResult(parsed);
  if (problems.length > 0) {
    const shown = problems.slice(0, PROBLEMS_SHOWN).join('; ');
    const more = problems.length > PROBLEMS_SHOWN ? ` (and ${problems.length - PROBLEMS_SHOWN} more)` : '';
    throw new ResultsInputError(`${path} is not a valid kvring results.json: ${shown}${more}; rerun the bench or fix the file`);
  }
  return { path, result: parsed as RunResult };
}

/**
 * Every run at `path`: [that file] for a file, [its results.json] for a run folder, or every
 * results.json one level down (a folder of run folders, e.g. reports/), oldest first, each once
 * even when a link such as reports/latest points at one of them.
 */
export async function readRuns(path: string): Promise<LoadedRun[]> {
  const info = await stat(path).catch((err: Error) => {
    throw new ResultsInputError(`cannot read ${path}: ${err.message}; pass a results.json or a run folder`);
  });
  if (info.isFile()) return [await readResultsFile(path)];
  const direct = join(path, RESULTS_FILE);
  if (await isFile(direct)) return [await readResultsFile(direct)];
  const entries = await readdir(path, { withFileTypes: true });
  const seen = new Set<string>();
  const runs: LoadedRun[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const candidate = join(path, e.name, RESULTS_FILE);
    if (!(await isFile(candidate))) continue;
    const real = await realpath(candidate);
    if (seen.has(real)) continue;
    seen.add(real);
    runs.push(await readResultsFile(candidate));
  }
  if (runs.length === 0) throw new ResultsInputError(`${path} holds no ${RESULTS_FILE} (nor do its sub-folders); pass a results.json or a run folder`);
  return runs.sort((a, b) => Date.parse(a.result.startedAt) - Date.parse(b.result.startedAt));
}

/**
 * One side of a comparison: every run at `path`, each without its first `skipTrials` trials
 * (warm-up), their trials combined.
 */
export async function readSide(path: string, skipTrials = 0): Promise<{ paths: string[]; result: RunResult }> {
  const runs = await readRuns(path);
  const kept = runs.map((r) => dropFirstTrials(r.result, skipTrials));
  if (kept.every((r) => r.steps.length === 0)) {
    throw new ResultsInputError(`--skip_trials ${skipTrials} leaves no trial of ${path}; run the bench with --trials ${skipTrials + 1} or more`);
  }
  return { paths: runs.map((r) => r.path), result: combineTrials(kept.filter((r) => r.steps.length > 0)) };
}
