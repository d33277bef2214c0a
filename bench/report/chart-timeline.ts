// timeline.png: throughput and p99 over the run, steps and events marked.

import { type LegendItem } from 'chart.js';
import { ERROR_RED, GRID, serverCountColor, withAlpha } from './colors.js';
import { type TimelineData, type TimelinePoint } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, Marker, Pt, axisTitle, legendItem, logTickLabel, opsTickLabel, renderLineChart, titleOptions, topLegend, verticalMarkers, xBands } from './chart-kit.js';
import { serversLabel } from '../analysis/step-groups.js';

const OPS_LINE = '#111111';
const P99_LINE = '#7b3294';

/**
 * A line's points with a break (y: null) before every point that follows unmeasured time, and a
 * dot on points that stand alone between breaks (a line of one point draws nothing).
 */
export function brokenLine(points: readonly TimelinePoint[], y: (p: TimelinePoint) => number | null, dotRadiusPx: number): { data: Pt[]; radii: number[] } {
  const data: Pt[] = [];
  const radii: number[] = [];
  points.forEach((p, i) => {
    if (p.afterGap) {
      data.push({ x: (points[i - 1]!.tSec + p.tSec) / 2, y: null });
      radii.push(0);
    }
    const alone = (i === 0 || p.afterGap) && (i === points.length - 1 || points[i + 1]!.afterGap);
    data.push({ x: p.tSec, y: y(p) });
    radii.push(alone ? dotRadiusPx : 0);
  });
  return { data, radii };
}

/**
 * `timeline.png`: ops/s (left axis) and p99 latency (right, log) for every interval
 * (--interval_ms) of the run; steps shaded in their server count's colour, errors as red
 * triangles, events as verticals. Lines break where the run measured nothing (preloads, pauses).
 */
export async function renderTimeline(data: TimelineData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const errorPoints = data.points.filter((p) => p.errors > 0);
  const maxErrors = Math.max(1, ...errorPoints.map((p) => p.errors));
  const ops = brokenLine(data.points, (p) => p.opsPerSec, 3);
  const p99 = brokenLine(data.points, (p) => p.p99Ms, 2.5);
  const datasets: LineDataset[] = [
    {
      label: 'throughput (ops/s)',
      data: ops.data,
      borderColor: OPS_LINE,
      backgroundColor: OPS_LINE,
      borderWidth: 2,
      pointRadius: ops.radii,
      spanGaps: false,
      yAxisID: 'y',
      tension: 0,
    },
    {
      label: 'p99 latency (ms)',
      data: p99.data,
      borderColor: P99_LINE,
      backgroundColor: P99_LINE,
      borderWidth: 1.5,
      borderDash: [6, 3],
      pointRadius: p99.radii,
      yAxisID: 'yLatency',
      spanGaps: false,
      tension: 0,
    },
    {
      label: 'errors',
      data: errorPoints.map((p) => ({ x: p.tSec, y: 0.94 })),
      showLine: false,
      pointStyle: 'triangle',
      pointRadius: errorPoints.map((p) => 5 + 5 * (Math.log10(p.errors) / Math.max(1, Math.log10(maxErrors)))),
      borderColor: ERROR_RED,
      backgroundColor: ERROR_RED,
      yAxisID: 'yErrors',
    },
  ];
  const bands = data.bands.map((b, i) => {
    const prev = data.bands[i - 1];
    const changed = !prev || prev.serverCount !== b.serverCount;
    return {
      from: b.fromSec,
      to: b.toSec,
      color: withAlpha(serverCountColor(b.serverCount), i % 2 === 0 ? 0.1 : 0.17),
      label: changed ? `${b.serverCount} srv` : null,
    };
  });
  const events: Marker[] = data.events.map((e) => ({ value: e.tSec, color: '#444444', label: `${e.kind}${e.detail ? `: ${e.detail}` : ''}`, dash: [6, 3] }));
  const counts = [...new Set(data.bands.map((b) => b.serverCount))].sort((a, b) => a - b);
  const legend: LegendItem[] = [
    legendItem('throughput (ops/s, left)', { color: OPS_LINE, pointStyle: 'line' }),
    legendItem('p99 latency (ms, right)', { color: P99_LINE, pointStyle: 'line', dash: [6, 3] }),
    legendItem(`errors (${data.totalErrors} in total)`, { color: ERROR_RED, pointStyle: 'triangle' }),
    ...counts.map((n) => legendItem(`steps with ${serversLabel(n)}`, { color: withAlpha(serverCountColor(n), 0.35), pointStyle: 'rect' })),
  ];
  const tMax = Math.max(1, ...data.points.map((p) => p.tSec));
  const yMax = Math.max(1, ...data.points.map((p) => p.opsPerSec));
  return renderLineChart(
    datasets,
    {
      scales: {
        x: { type: 'linear', min: 0, max: Math.ceil(tMax), title: axisTitle('time since start (s)'), grid: { color: GRID } },
        y: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          suggestedMax: yMax * 1.1,
          title: axisTitle('throughput (ops/s)'),
          ticks: { callback: opsTickLabel },
          grid: { color: GRID },
        },
        yLatency: {
          type: 'logarithmic',
          position: 'right',
          title: axisTitle('p99 latency (ms, log scale)', P99_LINE),
          ticks: { callback: logTickLabel, color: P99_LINE, autoSkip: false },
          grid: { display: false },
        },
        yErrors: { type: 'linear', display: false, min: 0, max: 1 },
      },
      plugins: {
        ...titleOptions(data.title, data.subtitle),
        legend: topLegend(legend),
      },
    },
    [xBands('kvringStepBands', bands), verticalMarkers('kvringEvents', events)],
    size,
  );
}
