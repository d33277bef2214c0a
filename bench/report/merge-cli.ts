import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeRuns } from '../analysis/merge-runs.js';
import { parseCliArgs } from './cli-args.js';
import { flagTable, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { ReportUsageError } from '../errors.js';
import { readRuns } from './load-results.js';
import { writeReports } from './render.js';

// `npm run merge -- a/results.json b/results.json ...`: one results folder for the load of several
// machines (results.json + charts + index.html).

export const MERGE_OPTIONS = {
  out: { type: 'string', describe: 'folder for the merged results.json and its charts (default: reports/<timestamp>-merged)' },
  label: { type: 'string', describe: 'label of the merged run (default: the runs\' label + "-merged")' },
  charts: { type: 'boolean', default: true, describe: 'render charts and index.html (--no-charts to skip)' },
} as const satisfies Record<string, FlagSpec>;

const USAGE =
  'Usage: $0 <results.json | run folder>... [options]\n\n' +
  'Adds the runs of several load machines that measured the same plan against the same --servers at the same time:\n' +
  'counts and throughput add up, step latencies come from the added HdrHistograms (exact). The parts of a run split\n' +
  'across --generators are checked to be one run (same plan, start and servers; every index once) and each step\n' +
  'gets its start skew across the generators. A folder of run folders passes every run in it.';

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
}

export async function runMerge(args: string[]): Promise<number> {
  const outcome = parseCliArgs('merge', USAGE, MERGE_OPTIONS, args);
  if (outcome.kind === 'help') {
    process.stdout.write(`${outcome.text}\n`);
    return 0;
  }
  const a = outcome.argv;
  const inputs = a._.map(String);
  if (inputs.length === 0) throw new ReportUsageError('merge needs the results.json files of the load machines (or a folder holding their run folders)');
  const runs = (await Promise.all(inputs.map((p) => readRuns(p)))).flat();
  // A split run's parts are checked for what is missing; whole runs need a second one to add.
  if (runs.length < 2 && runs.every((r) => r.result.generator === undefined)) {
    throw new ReportUsageError(`merge needs at least two results.json files (one per load machine), got ${runs.length}`);
  }
  const { result, warnings } = mergeRuns(
    runs.map((r) => r.result),
    runs.map((r, i) => `${r.result.machine.hostname || 'machine'}#${i + 1}`),
  );
  if (typeof a['label'] === 'string' && a['label'] !== '') result.label = a['label'];
  const out = typeof a['out'] === 'string' ? a['out'] : join('reports', `${timestamp(new Date())}-merged`);
  await mkdir(out, { recursive: true });
  const resultsPath = join(out, 'results.json');
  await writeFile(resultsPath, `${JSON.stringify(result, null, 2)}\n`);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const written = a['charts'] === false ? [] : await writeReports(result, out);
  process.stdout.write(`merged ${runs.length} runs (${runs.map((r) => r.path).join(', ')}) into ${resultsPath}${written.length ? ` and ${written.length} report files` : ''}\n`);
  return 0;
}

export function mergeFlagTable(): string {
  return flagTable(MERGE_OPTIONS);
}

runIfMain(import.meta.url, runMerge);
