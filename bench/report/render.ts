import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult } from '../results.js';
import { intervalWords, latencyThroughputData, operationsIn, percentileData, scalingData, timelineData } from './chart-data.js';
import { renderLatencyThroughput, renderPercentiles, renderScaling, renderTimeline, type ChartSize, DEFAULT_SIZE } from './charts.js';
import { renderIndexHtml, type ChartRef } from './html.js';

// The report of one run: every chart as PNG plus index.html, written into the run's folder.
// The bench harness calls writeReports at the end of every run; `npm run report` calls it again
// for a stored results.json.

const OP_NAMES = { get: 'GET', put: 'PUT', delete: 'DELETE' } as const;

export interface ReportOptions {
  /**
   * Embed the charts in index.html as data: URIs, so the page alone is the whole report (a CI
   * artifact, an e-mail attachment); the PNGs are still written beside it.
   */
  selfContained?: boolean;
}

/**
 * Writes every report for one run into `runDir` (created if missing): `<op>-latency-vs-throughput.png`
 * and `<op>-percentiles.png` per operation, `scaling.png`, `timeline.png` and `index.html`.
 * Returns the written paths, index.html last.
 */
export async function writeReports(result: RunResult, runDir: string, size: ChartSize = DEFAULT_SIZE, options: ReportOptions = {}): Promise<string[]> {
  await mkdir(runDir, { recursive: true });
  const written: string[] = [];
  const charts: ChartRef[] = [];
  const emit = async (file: string, png: Buffer, title: string, caption: string): Promise<void> => {
    const path = join(runDir, file);
    await writeFile(path, png);
    written.push(path);
    charts.push({ file, title, caption, ...(options.selfContained ? { dataUri: `data:image/png;base64,${png.toString('base64')}` } : {}) });
  };

  for (const op of operationsIn(result)) {
    const lt = latencyThroughputData(result, op);
    if (lt.series.length > 0) {
      await emit(
        `${op}-latency-vs-throughput.png`,
        await renderLatencyThroughput(lt, size),
        `${OP_NAMES[op]} latency vs throughput`,
        'Each colour is a server count; solid lines are p99, dashed p50, on a log axis. Where a line turns upward is the saturation knee; the dotted verticals mark the closed-loop maximum. Crosses are client-bound steps (the load generator was the limit), stars the highest throughput meeting the --slo objective.',
      );
    }
    const pd = percentileData(result, op);
    if (pd && pd.curves.length > 0) {
      await emit(
        `${op}-percentiles.png`,
        await renderPercentiles(pd, size),
        `${OP_NAMES[op]} latency by percentile`,
        `HdrHistogram-style: latency at every percentile of the ${pd.serverCount}-server steps, one line per load level, light = low load, dark = high. The tail is on the right; a line that rises early means queueing at that load.`,
      );
    }
  }
  const sd = scalingData(result);
  if (sd.lines.some((l) => l.points.length > 0)) {
    await emit('scaling.png', await renderScaling(sd, size), 'Scaling', 'Maximum throughput for each number of servers; the grey dotted line is perfect linear scaling from the smallest ring.');
  }
  if (result.intervals.length > 0) {
    const td = timelineData(result);
    const every = intervalWords(td.intervalMs);
    await emit(
      'timeline.png',
      await renderTimeline(td, size),
      'Timeline',
      `Throughput and p99 latency for every ${every} of the run (--interval_ms ${td.intervalMs}); the background tint is the server count of the step, red triangles are intervals with errors, vertical lines are events (preloads, kills, restarts). The lines break where the run measured nothing (a preload, a pause between steps).`,
    );
  }
  const indexPath = join(runDir, 'index.html');
  await writeFile(indexPath, renderIndexHtml(result, charts));
  written.push(indexPath);
  return written;
}
