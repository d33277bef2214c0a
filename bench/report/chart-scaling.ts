// scaling.png: maximum throughput against the number of servers.

import { type LegendItem, type Scale } from 'chart.js';
import { BACKGROUND, GRID, TEXT, serverCountColor, withAlpha } from './colors.js';
import { formatOps, type ScalingData } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, WORKLOAD_POINT_STYLES, axisTitle, legendItem, opsTickLabel, pointLabels, pointRadiusFor, pointStyleFor, renderLineChart, titleOptions, topLegend } from './chart-kit.js';
import { serversLabel } from '../analysis/step-groups.js';

const WORKLOAD_DASHES: number[][] = [[], [10, 5], [3, 4], [12, 4, 3, 4]];
/** Neutral greys for workload lines: colour is reserved for server counts. */
const WORKLOAD_LINE_COLORS = ['#333333', '#777777', '#555555', '#999999'];

/**
 * `scaling.png`: maximum throughput against the number of servers, one line per workload, points
 * in their server count's colour, with the ideal (linear from the smallest count) for reference —
 * drawn only up to the largest count at which every server and generator thread had a core of its
 * own: beyond it the processes share cores, and a flat or falling line measures the machine.
 */
export async function renderScaling(data: ScalingData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const labels: { datasetIndex: number; index: number; text: string }[] = [];
  data.lines.forEach((line, i) => {
    const first = line.points[0];
    const idealUpTo = data.ownCoresUpToServers ?? Infinity;
    const idealPoints = line.points.filter((p) => p.serverCount <= idealUpTo);
    if (first && idealPoints.length > 1) {
      datasets.push({
        label: `${line.workload} ideal (linear)`,
        data: idealPoints.map((p) => ({ x: p.serverCount, y: (first.opsPerSec * p.serverCount) / first.serverCount })),
        borderColor: withAlpha('#7f7f7f', 0.8),
        borderWidth: 1.5,
        borderDash: [2, 4],
        pointRadius: 0,
        tension: 0,
      });
    }
    const lineColor = WORKLOAD_LINE_COLORS[i % WORKLOAD_LINE_COLORS.length]!;
    const style = WORKLOAD_POINT_STYLES[i % WORKLOAD_POINT_STYLES.length]!;
    const dsIndex = datasets.length;
    datasets.push({
      label: line.workload,
      data: line.points.map((p) => ({ x: p.serverCount, y: p.opsPerSec, clientBound: p.clientBound })),
      borderColor: lineColor,
      borderWidth: 2.5,
      borderDash: WORKLOAD_DASHES[i % WORKLOAD_DASHES.length]!,
      pointBackgroundColor: line.points.map((p) => serverCountColor(p.serverCount)),
      pointBorderColor: line.points.map((p) => serverCountColor(p.serverCount)),
      pointStyle: pointStyleFor(style),
      pointRadius: pointRadiusFor(7),
      pointBorderWidth: 2,
      tension: 0,
    });
    const prefix = data.lines.length > 1 ? `${line.workload} ` : '';
    line.points.forEach((p, index) => labels.push({ datasetIndex: dsIndex, index, text: `${prefix}${formatOps(p.opsPerSec)}${p.fromClosedLoop ? '' : '*'}` }));
  });
  const yMax = Math.max(1, ...datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)));
  const counts = data.serverCounts;
  const legend: LegendItem[] = [];
  data.lines.forEach((line, i) => {
    const lineColor = WORKLOAD_LINE_COLORS[i % WORKLOAD_LINE_COLORS.length]!;
    // Several workloads: the point shape tells them apart even where a line has a single point.
    legend.push(
      data.lines.length > 1
        ? legendItem(line.workload, { color: lineColor, pointStyle: WORKLOAD_POINT_STYLES[i % WORKLOAD_POINT_STYLES.length]!, fill: BACKGROUND })
        : legendItem(line.workload, { color: lineColor, pointStyle: 'line', dash: WORKLOAD_DASHES[i % WORKLOAD_DASHES.length]!, lineWidth: 2.5 }),
    );
  });
  if (datasets.some((d) => String(d.label).endsWith('ideal (linear)'))) {
    legend.push(legendItem('ideal linear scaling', { color: '#7f7f7f', pointStyle: 'line', dash: [2, 4] }));
  }
  legend.push(...counts.map((n) => legendItem(serversLabel(n), { color: serverCountColor(n), pointStyle: 'circle' })));
  if (data.lines.some((l) => l.points.some((p) => p.clientBound))) legend.push(legendItem('client-bound', { color: TEXT, pointStyle: 'crossRot' }));
  const anyStar = data.lines.some((l) => l.points.some((p) => !p.fromClosedLoop));
  return renderLineChart(
    datasets,
    {
      layout: { padding: { left: 10, right: 30 } },
      scales: {
        x: {
          type: 'linear',
          min: Math.min(...counts) - 0.3,
          max: Math.max(...counts) + 0.3,
          title: axisTitle('servers in the ring (count)'),
          afterBuildTicks: (axis: Scale) => {
            axis.ticks = counts.map((v) => ({ value: v }));
          },
          ticks: { autoSkip: false, callback: (v) => String(v) },
          grid: { color: GRID },
        },
        y: {
          type: 'linear',
          beginAtZero: true,
          suggestedMax: yMax * 1.08,
          title: axisTitle('maximum throughput (ops/s)'),
          ticks: { callback: opsTickLabel },
          grid: { color: GRID },
        },
      },
      plugins: {
        ...titleOptions(data.title, [anyStar ? `${data.subtitle} · * = best open-loop step (no closed-loop max)` : data.subtitle, ...(data.placementNote === null ? [] : [`Note: ${data.placementNote}`])]),
        legend: topLegend(legend),
      },
    },
    [pointLabels('kvringScalingLabels', labels)],
    size,
  );
}
