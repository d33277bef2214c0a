// scaling.png: maximum throughput against the number of servers.

import { type LegendItem, type Plugin, type Scale } from 'chart.js';
import { BACKGROUND, GRID, TEXT, serverCountColor, withAlpha } from './colors.js';
import { formatOps, type ScalingData } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, SAMPLE_WIDTH_PX, WORKLOAD_POINT_STYLES, axisTitle, legendSample, opsTickLabel, pointRadiusFor, pointStyleFor, renderLineChart, titleOptions, topLegend } from './chart-kit.js';
import { placeLabels, type Box, type LabelRequest } from './label-layout.js';
import { serversLabel } from '../analysis/step-groups.js';

const WORKLOAD_DASHES: number[][] = [[], [10, 5], [3, 4], [12, 4, 3, 4]];
/** Neutral greys for workload lines: colour is reserved for server counts. */
const WORKLOAD_LINE_COLORS = ['#333333', '#777777', '#555555', '#999999'];
const IDEAL_COLOR = '#7f7f7f';
const IDEAL_DASH = [2, 4];
const POINT_RADIUS_PX = 7;
const LABEL_FONT = "12px 'DejaVu Sans', sans-serif";
const LABEL_HEIGHT_PX = 15;

interface ChartLabel {
  datasetIndex: number;
  index: number;
  text: string;
  color: string;
}

/**
 * The value labels and the ideal lines' end labels, each where it covers no other label and no
 * point (label-layout.ts), on a white box so lines do not cut through the digits.
 */
function scalingLabels(labels: ChartLabel[], pointDatasets: number[]): Plugin<'line'> {
  return {
    id: 'kvringScalingLabels',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      ctx.save();
      ctx.font = LABEL_FONT;
      const shown: { label: ChartLabel; request: LabelRequest }[] = [];
      for (const l of labels) {
        const el = chart.getDatasetMeta(l.datasetIndex).data[l.index];
        if (!el) continue;
        shown.push({ label: l, request: { anchorX: el.x, anchorY: el.y, width: ctx.measureText(l.text).width + 6, height: LABEL_HEIGHT_PX, clearancePx: POINT_RADIUS_PX + 3 } });
      }
      const obstacles: Box[] = pointDatasets.flatMap((i) =>
        chart.getDatasetMeta(i).data.map((el) => ({ x: el.x - POINT_RADIUS_PX - 1, y: el.y - POINT_RADIUS_PX - 1, width: 2 * POINT_RADIUS_PX + 2, height: 2 * POINT_RADIUS_PX + 2 })),
      );
      const { left, top, right, bottom } = chart.chartArea;
      const boxes = placeLabels(
        shown.map((s) => s.request),
        obstacles,
        { x: left, y: top, width: right - left, height: bottom - top },
      );
      shown.forEach(({ label }, i) => {
        const b = boxes[i]!;
        ctx.fillStyle = withAlpha('#ffffff', 0.85);
        ctx.fillRect(b.x, b.y, b.width, b.height);
        ctx.fillStyle = label.color;
        ctx.textBaseline = 'middle';
        ctx.fillText(label.text, b.x + 3, b.y + b.height / 2);
      });
      ctx.restore();
    },
  };
}

/**
 * `scaling.png`: maximum throughput against the number of servers, one line per workload (its own
 * dash and point shape), points in their server count's colour, with each workload's ideal (linear
 * from its smallest count, grey dotted, labelled at its end) for reference — drawn only up to the
 * largest count at which every server and generator thread had a core of its own: beyond it the
 * processes share cores, and a flat or falling line measures the machine.
 */
export async function renderScaling(data: ScalingData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const valueLabels: ChartLabel[] = [];
  const idealLabels: ChartLabel[] = [];
  const pointDatasets: number[] = [];
  const several = data.lines.length > 1;
  data.lines.forEach((line, i) => {
    const first = line.points[0];
    const idealUpTo = data.ownCoresUpToServers ?? Infinity;
    const idealPoints = line.points.filter((p) => p.serverCount <= idealUpTo);
    if (first && idealPoints.length > 1) {
      idealLabels.push({ datasetIndex: datasets.length, index: idealPoints.length - 1, text: several ? `ideal ${line.workload}` : 'ideal', color: '#666666' });
      datasets.push({
        label: `${line.workload} ideal (linear)`,
        data: idealPoints.map((p) => ({ x: p.serverCount, y: (first.opsPerSec * p.serverCount) / first.serverCount })),
        borderColor: withAlpha(IDEAL_COLOR, 0.8),
        borderWidth: 1.5,
        borderDash: IDEAL_DASH,
        pointRadius: 0,
        tension: 0,
      });
    }
    const lineColor = WORKLOAD_LINE_COLORS[i % WORKLOAD_LINE_COLORS.length]!;
    const style = WORKLOAD_POINT_STYLES[i % WORKLOAD_POINT_STYLES.length]!;
    const dsIndex = datasets.length;
    pointDatasets.push(dsIndex);
    datasets.push({
      label: line.workload,
      data: line.points.map((p) => ({ x: p.serverCount, y: p.opsPerSec, clientBound: p.clientBound })),
      borderColor: lineColor,
      borderWidth: 2.5,
      borderDash: WORKLOAD_DASHES[i % WORKLOAD_DASHES.length]!,
      pointBackgroundColor: line.points.map((p) => serverCountColor(p.serverCount)),
      pointBorderColor: line.points.map((p) => serverCountColor(p.serverCount)),
      pointStyle: pointStyleFor(style),
      pointRadius: pointRadiusFor(POINT_RADIUS_PX),
      pointBorderWidth: 2,
      tension: 0,
    });
    const prefix = several ? `${line.workload} ` : '';
    line.points.forEach((p, index) => valueLabels.push({ datasetIndex: dsIndex, index, text: `${prefix}${formatOps(p.opsPerSec)}${p.fromClosedLoop ? '' : '*'}`, color: TEXT }));
  });
  const yMax = Math.max(1, ...datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)));
  const counts = data.serverCounts;
  const entry = (text: string, pointStyle: LegendItem['pointStyle']): LegendItem => ({ text, pointStyle, fontColor: TEXT, hidden: false, lineWidth: 0, strokeStyle: 'transparent', fillStyle: 'transparent' });
  // Each workload's entry shows its line's dash and its point shape together: with several
  // workloads on one chart, either alone leaves the reader guessing.
  const legend: LegendItem[] = data.lines.map((line, i) =>
    entry(
      line.workload,
      legendSample({
        line: { color: WORKLOAD_LINE_COLORS[i % WORKLOAD_LINE_COLORS.length]!, dash: WORKLOAD_DASHES[i % WORKLOAD_DASHES.length]!, widthPx: 2.5 },
        point: { style: WORKLOAD_POINT_STYLES[i % WORKLOAD_POINT_STYLES.length]!, radiusPx: 6, fill: BACKGROUND, stroke: '#444444', borderPx: 1.5 },
      }),
    ),
  );
  if (idealLabels.length > 0) {
    legend.push(entry(several ? 'ideal linear scaling (one per workload, labelled)' : 'ideal linear scaling', legendSample({ line: { color: IDEAL_COLOR, dash: IDEAL_DASH, widthPx: 1.5 } })));
  }
  legend.push(...counts.map((n) => entry(serversLabel(n), legendSample({ point: { style: 'circle', radiusPx: 6, fill: serverCountColor(n), stroke: serverCountColor(n), borderPx: 1 } }))));
  if (data.lines.some((l) => l.points.some((p) => p.clientBound))) legend.push(entry('client-bound', legendSample({ point: { style: 'crossRot', radiusPx: 6, fill: TEXT, stroke: TEXT, borderPx: 2 } })));
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
          // Room above the highest point for its label, and for labels stacked over it.
          suggestedMax: yMax * 1.12,
          title: axisTitle('maximum throughput (ops/s)'),
          ticks: { callback: opsTickLabel },
          grid: { color: GRID },
        },
      },
      plugins: {
        ...titleOptions(data.title, [anyStar ? `${data.subtitle} · * = best open-loop step (no closed-loop max)` : data.subtitle, ...(data.placementNote === null ? [] : [`Note: ${data.placementNote}`])]),
        legend: topLegend(legend, SAMPLE_WIDTH_PX),
      },
    },
    // Value labels first: they get the spots nearest their points.
    [scalingLabels([...valueLabels, ...idealLabels], pointDatasets)],
    size,
  );
}
