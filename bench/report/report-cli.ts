import { dirname } from 'node:path';
import { parseCliArgs } from './cli-args.js';
import { flagTable, type FlagSpec } from '../../cli/flags.js';
import { runIfMain } from '../../cli/main.js';
import { ReportUsageError } from '../errors.js';
import { readRuns } from './load-results.js';
import { writeReports } from './render.js';

// `npm run report -- <results.json or folder>...`: renders the charts and index.html of stored
// runs again, without servers — after a schema-compatible upgrade of the charts, or for results
// copied from another machine.

export const REPORT_OPTIONS = {
  out: { type: 'string', describe: 'write the charts here instead of beside each results.json (only with a single run)' },
  width: { type: 'number', default: 1200, describe: 'chart width in pixels' },
  height: { type: 'number', default: 700, describe: 'chart height in pixels' },
  self_contained: {
    type: 'boolean',
    default: false,
    describe: 'embed the charts in index.html (data: URIs) so that one file carries the whole report, e.g. a CI artifact or an e-mail; the PNGs are still written',
  },
} as const satisfies Record<string, FlagSpec>;

const USAGE =
  'Usage: $0 <results.json | run folder | folder of runs>... [options]\n\n' +
  'Renders <op>-latency-vs-throughput.png, <op>-percentiles.png, scaling.png, timeline.png and index.html for each run.';

export async function runReport(args: string[]): Promise<number> {
  const outcome = parseCliArgs('report', USAGE, REPORT_OPTIONS, args);
  if (outcome.kind === 'help') {
    process.stdout.write(`${outcome.text}\n`);
    return 0;
  }
  const a = outcome.argv;
  const inputs = a._.map(String);
  if (inputs.length === 0) throw new ReportUsageError('report needs at least one results.json or run folder');
  const widthPx = Number(a['width']);
  const heightPx = Number(a['height']);
  for (const [flag, v] of [['width', widthPx], ['height', heightPx]] as const) {
    if (!Number.isInteger(v) || v < 200 || v > 8000) throw new ReportUsageError(`--${flag} must be an integer from 200 to 8000 pixels, got ${String(a[flag])}`);
  }
  const runs = (await Promise.all(inputs.map((p) => readRuns(p)))).flat();
  const out = typeof a['out'] === 'string' ? a['out'] : null;
  if (out !== null && runs.length > 1) throw new ReportUsageError(`--out takes a single run, but the inputs hold ${runs.length}; leave --out away to write beside each results.json`);
  for (const run of runs) {
    const dir = out ?? dirname(run.path);
    const written = await writeReports(run.result, dir, { widthPx, heightPx }, { selfContained: a['self_contained'] === true });
    process.stdout.write(`${run.path}: wrote ${written.length} files into ${dir} (open ${written[written.length - 1]})\n`);
  }
  return 0;
}

export function reportFlagTable(): string {
  return flagTable(REPORT_OPTIONS);
}

runIfMain(import.meta.url, runReport);
