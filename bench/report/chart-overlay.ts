// compare's overlay: baseline and candidate latency against throughput.

import { type LegendItem } from 'chart.js';
import { BACKGROUND, TEXT, serverCountColor, withAlpha } from './colors.js';
import { formatOps, type LatencyThroughputData } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, Marker, latencyAxis, legendItem, pointRadiusFor, pointStyleFor, renderLineChart, throughputAxis, titleOptions, topLegend, verticalMarkers } from './chart-kit.js';
import { serversLabel } from '../analysis/step-groups.js';

/** Baseline and candidate of one operation, for the compare overlay. */
export interface OverlayData {
  title: string;
  /** One line, or several printed one under another (the verdict goes on a line of its own). */
  subtitle: string | string[];
  baselineLabel: string;
  candidateLabel: string;
  baseline: LatencyThroughputData;
  candidate: LatencyThroughputData;
}

/**
 * The compare overlay: p99 latency vs throughput of baseline (dashed, hollow, faded) and
 * candidate (solid), in each server count's colour; closed-loop maxima as verticals of both.
 */
export async function renderOverlay(data: OverlayData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const markers: Marker[] = [];
  const sides = [
    { d: data.baseline, name: data.baselineLabel, faded: true },
    { d: data.candidate, name: data.candidateLabel, faded: false },
  ];
  for (const side of sides) {
    for (const s of side.d.series) {
      const color = serverCountColor(s.serverCount);
      datasets.push({
        label: `${side.name} ${s.serverCount} srv p99`,
        data: s.points.map((p) => ({ x: p.opsPerSec, y: p.p99Ms > 0 ? p.p99Ms : null, clientBound: p.clientBound })),
        borderColor: side.faded ? withAlpha(color, 0.6) : color,
        backgroundColor: side.faded ? BACKGROUND : color,
        borderWidth: side.faded ? 2 : 2.5,
        borderDash: side.faded ? [7, 5] : [],
        pointStyle: pointStyleFor('circle'),
        pointRadius: pointRadiusFor(4),
        pointBorderWidth: 2,
        tension: 0,
      });
    }
    for (const m of side.d.maxima) {
      markers.push({
        value: m.opsPerSec,
        color: side.faded ? withAlpha(serverCountColor(m.serverCount), 0.6) : serverCountColor(m.serverCount),
        label: `${side.faded ? 'base' : 'cand'} max ${m.serverCount} srv: ${formatOps(m.opsPerSec)}`,
        dash: side.faded ? [2, 4] : [6, 3],
      });
    }
  }
  const counts = [...new Set([...data.baseline.series, ...data.candidate.series].map((s) => s.serverCount))].sort((a, b) => a - b);
  const legend: LegendItem[] = [
    ...counts.map((n) => legendItem(serversLabel(n), { color: serverCountColor(n), pointStyle: 'rect' })),
    legendItem(`baseline: ${data.baselineLabel}`, { color: '#777777', pointStyle: 'line', dash: [7, 5] }),
    legendItem(`candidate: ${data.candidateLabel}`, { color: TEXT, pointStyle: 'line', lineWidth: 2.5 }),
  ];
  const allX = [...datasets.flatMap((d) => d.data.map((p) => p.x)), ...markers.map((m) => m.value)];
  return renderLineChart(
    datasets,
    {
      scales: {
        x: throughputAxis(Math.max(1, ...allX) * 1.06),
        y: latencyAxis(datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)), 'p99 latency (ms, log scale)'),
      },
      plugins: {
        ...titleOptions(data.title, data.subtitle),
        legend: topLegend(legend),
      },
    },
    [verticalMarkers('kvringOverlayMaxima', markers.sort((a, b) => a.value - b.value))],
    size,
  );
}
