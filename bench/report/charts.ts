import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type ChartDataset, type LegendItem, type Plugin, type PointStyle, type ScriptableContext, type Scale } from 'chart.js';
import { BACKGROUND, ERROR_RED, GRID, SLO_COLOR, TEXT, serverCountColor, shade, withAlpha } from './colors.js';
import {
  formatOps,
  type LatencyThroughputData,
  type LevelPoint,
  type PercentileData,
  type ScalingData,
  type TimelineData,
} from './chart-data.js';
import { serversLabel } from '../analysis/step-groups.js';

// Draws the report charts as PNG: Chart.js on an @napi-rs/canvas (prebuilt Skia, no system
// libraries). Each function takes the data of one chart (chart-data.ts) and returns PNG bytes;
// nothing here reads results or files.

Chart.register(...registerables);
Chart.defaults.font.family = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";
Chart.defaults.font.size = 14;
Chart.defaults.color = TEXT;

export interface ChartSize {
  widthPx: number;
  heightPx: number;
}

/** Readable on a laptop screen and in a README at full width. */
export const DEFAULT_SIZE: ChartSize = { widthPx: 1200, heightPx: 700 };

/** A plotted point; `meta` carries what per-point styling needs. */
interface Pt {
  x: number;
  y: number | null;
  clientBound?: boolean;
}

type LineConfig = ChartConfiguration<'line', Pt[]>;
type LineDataset = ChartDataset<'line', Pt[]>;

/** Renders a Chart.js configuration to PNG bytes and frees the chart. */
async function renderPng(config: LineConfig, size: ChartSize): Promise<Buffer> {
  const canvas = createCanvas(size.widthPx, size.heightPx);
  // Chart.js's types expect a DOM canvas context; @napi-rs/canvas implements the same 2D API.
  const item = canvas.getContext('2d') as unknown as ConstructorParameters<typeof Chart>[0];
  const options = config.options ?? {};
  const chart = new Chart(item, {
    ...config,
    options: { ...options, animation: false, responsive: false, maintainAspectRatio: false, devicePixelRatio: 1 },
    plugins: [whiteBackground, ...(config.plugins ?? [])],
  });
  try {
    chart.draw();
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}

const whiteBackground: Plugin<'line'> = {
  id: 'kvringWhiteBackground',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

interface Marker {
  value: number;
  color: string;
  label: string;
  dash: number[];
}

/** Vertical lines at x values (closed-loop maxima, events), labelled at the top of the plot area. */
function verticalMarkers(id: string, markers: Marker[], scaleId = 'x'): Plugin<'line'> {
  return {
    id,
    afterDatasetsDraw(chart) {
      const scale = chart.scales[scaleId];
      if (!scale) return;
      const { top, bottom, left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      // Each label takes the first row where it does not overlap a label already placed.
      const rows: [number, number][][] = [];
      markers.forEach((m) => {
        const x = scale.getPixelForValue(m.value);
        if (!Number.isFinite(x) || x < left - 1 || x > right + 1) return;
        ctx.strokeStyle = m.color;
        ctx.lineWidth = 1.5;
        ctx.setLineDash(m.dash);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = m.color;
        ctx.font = "12px 'DejaVu Sans', sans-serif";
        const width = ctx.measureText(m.label).width;
        const tx = x + 4 + width > right ? x - 4 - width : x + 4;
        let row = rows.findIndex((spans) => spans.every(([a, b]) => tx + width + 6 < a || tx > b + 6));
        if (row < 0) {
          rows.push([]);
          row = rows.length - 1;
        }
        rows[row]!.push([tx, tx + width]);
        const y = top + 14 + row * 15;
        ctx.fillStyle = withAlpha('#ffffff', 0.8);
        ctx.fillRect(tx - 2, y - 11, width + 4, 14);
        ctx.fillStyle = m.color;
        ctx.fillText(m.label, tx, y);
      });
      ctx.restore();
    },
  };
}

/** A horizontal line at a y value (the SLO bound), labelled at the right end. */
function horizontalMarker(id: string, marker: Marker, scaleId = 'y'): Plugin<'line'> {
  return {
    id,
    afterDatasetsDraw(chart) {
      const scale = chart.scales[scaleId];
      if (!scale) return;
      const { top, bottom, left, right } = chart.chartArea;
      const y = scale.getPixelForValue(marker.value);
      if (!Number.isFinite(y) || y < top || y > bottom) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = marker.color;
      ctx.lineWidth = 1.5;
      ctx.setLineDash(marker.dash);
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(right, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.font = "12px 'DejaVu Sans', sans-serif";
      const width = ctx.measureText(marker.label).width;
      ctx.fillStyle = withAlpha('#ffffff', 0.8);
      ctx.fillRect(right - width - 8, y - 16, width + 4, 14);
      ctx.fillStyle = marker.color;
      ctx.fillText(marker.label, right - width - 6, y - 5);
      ctx.restore();
    },
  };
}

/** Shaded x ranges behind the data (one per step of the timeline, tinted by server count). */
function xBands(id: string, bands: { from: number; to: number; color: string; label: string | null }[]): Plugin<'line'> {
  return {
    id,
    beforeDatasetsDraw(chart) {
      const scale = chart.scales['x'];
      if (!scale) return;
      const { top, bottom, left, right } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      for (const b of bands) {
        const x0 = Math.max(left, scale.getPixelForValue(b.from));
        const x1 = Math.min(right, scale.getPixelForValue(b.to));
        if (x1 <= x0) continue;
        ctx.fillStyle = b.color;
        ctx.fillRect(x0, top, x1 - x0, bottom - top);
        if (b.label) {
          ctx.fillStyle = TEXT;
          ctx.font = "12px 'DejaVu Sans', sans-serif";
          ctx.fillText(b.label, x0 + 3, bottom - 6);
        }
      }
      ctx.restore();
    },
  };
}

/** Value labels above chosen points (scaling chart). */
function pointLabels(id: string, labels: { datasetIndex: number; index: number; text: string }[]): Plugin<'line'> {
  return {
    id,
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      ctx.save();
      ctx.font = "12px 'DejaVu Sans', sans-serif";
      ctx.fillStyle = TEXT;
      for (const l of labels) {
        const el = chart.getDatasetMeta(l.datasetIndex).data[l.index];
        if (!el) continue;
        const width = ctx.measureText(l.text).width;
        ctx.fillText(l.text, el.x - width / 2, el.y - 12);
      }
      ctx.restore();
    },
  };
}

/** Axis ticks on a log scale: 1, 2, 5 per decade, printed without float noise. */
function logTickLabel(value: number | string): string {
  const v = Number(value);
  const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(mantissa * 1000) / 1000;
  if (m !== 1 && m !== 2 && m !== 5) return '';
  return Number(v.toPrecision(3)).toString();
}

function opsTickLabel(value: number | string): string {
  const v = Number(value);
  return v === 0 ? '0' : formatOps(v);
}

function titleOptions(title: string, subtitle: string): NonNullable<LineConfig['options']>['plugins'] {
  return {
    title: { display: true, text: title, font: { size: 20, weight: 'bold' }, padding: { top: 10, bottom: 4 } },
    subtitle: { display: true, text: subtitle, font: { size: 13 }, color: '#555555', padding: { bottom: 10 } },
  };
}

type ChartOptions = NonNullable<LineConfig['options']>;
type AxisOptions = NonNullable<ChartOptions['scales']>[string];

function axisTitle(text: string, color?: string): { display: true; text: string; font: { size: number }; color?: string } {
  return color === undefined ? { display: true, text, font: { size: 15 } } : { display: true, text, font: { size: 15 }, color };
}

/** The legend above the plot, with our own entries (Chart.js's default drops dashes and shapes). */
function topLegend(items: LegendItem[]): NonNullable<ChartOptions['plugins']>['legend'] {
  return { position: 'top', labels: { usePointStyle: true, generateLabels: () => items, padding: 14 } };
}

/** Achieved throughput from 0 to just past `maxOpsPerSec`, at a readable number. */
function throughputAxis(maxOpsPerSec: number): AxisOptions {
  return {
    type: 'linear',
    min: 0,
    max: niceCeil(maxOpsPerSec),
    title: axisTitle('achieved throughput (ops/s)'),
    ticks: { callback: opsTickLabel },
    grid: { color: GRID },
  };
}

/** A log latency axis (ms) spanning `valuesMs` on the 1-2-5 grid. */
function latencyAxis(valuesMs: number[], title: string): AxisOptions {
  return {
    type: 'logarithmic',
    ...logBounds(valuesMs),
    title: axisTitle(title),
    ticks: { callback: logTickLabel, autoSkip: false },
    grid: { color: GRID },
  };
}

function legendItem(text: string, style: { color: string; pointStyle: PointStyle; dash?: number[]; lineWidth?: number; fill?: string }): LegendItem {
  return {
    text,
    pointStyle: style.pointStyle,
    strokeStyle: style.color,
    fillStyle: style.fill ?? style.color,
    lineWidth: style.lineWidth ?? 2,
    lineDash: style.dash ?? [],
    fontColor: TEXT,
    hidden: false,
  };
}

const P50_DASH = [8, 5];
const MARKER_DASH = [3, 4];

/** pointStyle per point: a cross for client-bound steps, so they read as "not the server's number". */
function pointStyleFor(base: PointStyle): (ctx: ScriptableContext<'line'>) => PointStyle {
  return (ctx) => ((ctx.raw as Pt | undefined)?.clientBound ? 'crossRot' : base);
}

function pointRadiusFor(base: number): (ctx: ScriptableContext<'line'>) => number {
  return (ctx) => ((ctx.raw as Pt | undefined)?.clientBound ? base + 4 : base);
}

const WORKLOAD_POINT_STYLES: PointStyle[] = ['circle', 'rect', 'triangle', 'rectRot'];

/**
 * `<op>-latency-vs-throughput.png`: per server count, p99 (solid) and p50 (dashed) latency on a
 * log axis against achieved throughput; closed-loop maxima as dotted verticals, client-bound steps
 * as crosses, the SLO bound and the best throughput meeting it as a line and stars.
 */
export async function renderLatencyThroughput(data: LatencyThroughputData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const workloads = [...new Set(data.series.map((s) => s.workload))];
  const multiWorkload = workloads.length > 1;
  const toPt = (p: LevelPoint, y: number): Pt => ({ x: p.opsPerSec, y: y > 0 ? y : null, clientBound: p.clientBound });
  for (const s of data.series) {
    const color = serverCountColor(s.serverCount);
    const base = WORKLOAD_POINT_STYLES[workloads.indexOf(s.workload) % WORKLOAD_POINT_STYLES.length]!;
    const name = `${serversLabel(s.serverCount)}${multiWorkload ? ` · ${s.workload}` : ''}`;
    datasets.push({
      label: `${name} p99`,
      data: s.points.map((p) => toPt(p, p.p99Ms)),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2.5,
      pointStyle: pointStyleFor(base),
      pointRadius: pointRadiusFor(4),
      pointBorderWidth: 2,
      tension: 0,
    });
    datasets.push({
      label: `${name} p50`,
      data: s.points.map((p) => toPt(p, p.p50Ms)),
      borderColor: color,
      backgroundColor: BACKGROUND,
      borderWidth: 2,
      borderDash: P50_DASH,
      pointStyle: pointStyleFor(base),
      pointRadius: pointRadiusFor(3),
      pointBorderWidth: 1.5,
      tension: 0,
    });
  }
  if (data.slo && data.slo.points.length > 0) {
    datasets.push({
      label: data.slo.label,
      data: data.slo.points.map((p) => ({ x: p.opsPerSec, y: p.latencyMs })),
      showLine: false,
      pointStyle: 'star',
      pointRadius: 13,
      pointBorderWidth: 2.5,
      borderColor: data.slo.points.map((p) => serverCountColor(p.serverCount)),
      backgroundColor: data.slo.points.map((p) => serverCountColor(p.serverCount)),
    });
  }

  const allX = [...data.series.flatMap((s) => s.points.map((p) => p.opsPerSec)), ...data.maxima.map((m) => m.opsPerSec)];
  const xMax = Math.max(1, ...allX) * 1.06;
  const markers: Marker[] = data.maxima
    .slice()
    .sort((a, b) => a.opsPerSec - b.opsPerSec)
    .map((m) => ({
      value: m.opsPerSec,
      color: serverCountColor(m.serverCount),
      label: `max ${m.serverCount} srv${multiWorkload ? ` ${m.workload}` : ''}: ${formatOps(m.opsPerSec)}`,
      dash: MARKER_DASH,
    }));
  const plugins: Plugin<'line'>[] = [verticalMarkers('kvringMaxima', markers)];
  if (data.slo) {
    plugins.push(horizontalMarker('kvringSlo', { value: data.slo.boundMs, color: SLO_COLOR, label: data.slo.label, dash: [10, 4, 2, 4] }));
  }

  const counts = [...new Set(data.series.map((s) => s.serverCount))];
  const legend: LegendItem[] = [
    ...counts.map((n) => legendItem(serversLabel(n), { color: serverCountColor(n), pointStyle: 'rect' })),
    ...(multiWorkload ? workloads.map((w, i) => legendItem(w, { color: TEXT, pointStyle: WORKLOAD_POINT_STYLES[i % WORKLOAD_POINT_STYLES.length]!, fill: BACKGROUND })) : []),
    legendItem('p99', { color: TEXT, pointStyle: 'line', lineWidth: 2.5 }),
    legendItem('p50', { color: TEXT, pointStyle: 'line', dash: P50_DASH }),
    legendItem('closed-loop max', { color: TEXT, pointStyle: 'line', dash: MARKER_DASH, lineWidth: 1.5 }),
  ];
  if (data.series.some((s) => s.points.some((p) => p.clientBound))) {
    legend.push(legendItem('client-bound step', { color: TEXT, pointStyle: 'crossRot' }));
  }
  if (data.slo && data.slo.points.length > 0) {
    legend.push(legendItem('best throughput within SLO', { color: TEXT, pointStyle: 'star' }));
  }

  const config: LineConfig = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: throughputAxis(xMax),
        y: latencyAxis([...datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)), data.slo?.boundMs ?? 0], 'latency (ms, log scale)'),
      },
      plugins: {
        ...titleOptions(data.title, data.subtitle),
        legend: topLegend(legend),
      },
    },
    plugins,
  };
  return renderPng(config, size);
}

/** 1/(1-p) tick positions and their percentile labels. */
const PERCENTILE_TICKS: [number, string][] = [
  [1, '0%'],
  [2, '50%'],
  [4, '75%'],
  [10, '90%'],
  [100, '99%'],
  [1000, '99.9%'],
  [10000, '99.99%'],
  [100000, '99.999%'],
  [1000000, '99.9999%'],
];

/**
 * `<op>-percentiles.png`: HdrHistogram-style latency by percentile on a 1/(1-p) log axis, one line
 * per load level of the largest server count, light (low load) to dark (high load).
 */
export async function renderPercentiles(data: PercentileData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const base = serverCountColor(data.serverCount);
  const n = data.curves.length;
  const datasets: LineDataset[] = data.curves.map((c, i) => {
    const color = shade(base, n === 1 ? 0.6 : i / (n - 1));
    return {
      label: c.label,
      data: c.points.map((p) => ({ x: p.x, y: p.latencyMs > 0 ? p.latencyMs : null })),
      borderColor: color,
      backgroundColor: color,
      borderWidth: 2.5,
      borderDash: c.clientBound ? [4, 4] : [],
      pointRadius: 0,
      tension: 0,
    };
  });
  const xMax = Math.max(10, ...data.curves.flatMap((c) => c.points.map((p) => p.x)));
  const config: LineConfig = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: {
          type: 'logarithmic',
          min: 1,
          max: xMax,
          title: axisTitle('percentile (log scale of 1 / (1 − p))'),
          afterBuildTicks: (axis: Scale) => {
            axis.ticks = PERCENTILE_TICKS.filter(([v]) => v <= xMax * 1.001).map(([v]) => ({ value: v }));
          },
          ticks: {
            autoSkip: false,
            callback: (value) => PERCENTILE_TICKS.find(([v]) => Math.abs(v - Number(value)) < 1e-6)?.[1] ?? '',
          },
          grid: { color: GRID },
        },
        y: latencyAxis(datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)), 'latency (ms, log scale)'),
      },
      plugins: {
        ...titleOptions(data.title, data.subtitle),
        legend: {
          position: 'right',
          labels: {
            usePointStyle: true,
            padding: 12,
            // Built here because Chart.js's default legend drops the dash of point-style entries.
            generateLabels: () =>
              datasets.map((d) => legendItem(String(d.label), { color: String(d.borderColor), pointStyle: 'line', dash: d.borderDash as number[], lineWidth: 2.5 })),
          },
        },
      },
    },
  };
  return renderPng(config, size);
}

const WORKLOAD_DASHES: number[][] = [[], [10, 5], [3, 4], [12, 4, 3, 4]];
/** Neutral greys for workload lines: colour is reserved for server counts. */
const WORKLOAD_LINE_COLORS = ['#333333', '#777777', '#555555', '#999999'];

/**
 * `scaling.png`: maximum throughput against the number of servers, one line per workload, points
 * in their server count's colour, with the ideal (linear from the smallest count) for reference.
 */
export async function renderScaling(data: ScalingData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const labels: { datasetIndex: number; index: number; text: string }[] = [];
  data.lines.forEach((line, i) => {
    const first = line.points[0];
    if (first && line.points.length > 1) {
      datasets.push({
        label: `${line.workload} ideal (linear)`,
        data: line.points.map((p) => ({ x: p.serverCount, y: (first.opsPerSec * p.serverCount) / first.serverCount })),
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
  const config: LineConfig = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
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
        ...titleOptions(data.title, anyStar ? `${data.subtitle} · * = best open-loop step (no closed-loop max)` : data.subtitle),
        legend: topLegend(legend),
      },
    },
    plugins: [pointLabels('kvringScalingLabels', labels)],
  };
  return renderPng(config, size);
}

const OPS_LINE = '#111111';
const P99_LINE = '#7b3294';

/**
 * `timeline.png`: ops/s (left axis) and p99 latency (right, log) for every second of the run;
 * steps shaded in their server count's colour, errors as red triangles, events as verticals.
 */
export async function renderTimeline(data: TimelineData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const errorPoints = data.points.filter((p) => p.errors > 0);
  const maxErrors = Math.max(1, ...errorPoints.map((p) => p.errors));
  const datasets: LineDataset[] = [
    {
      label: 'throughput (ops/s)',
      data: data.points.map((p) => ({ x: p.tSec, y: p.opsPerSec })),
      borderColor: OPS_LINE,
      backgroundColor: OPS_LINE,
      borderWidth: 2,
      pointRadius: 0,
      yAxisID: 'y',
      tension: 0,
    },
    {
      label: 'p99 latency (ms)',
      data: data.points.map((p) => ({ x: p.tSec, y: p.p99Ms })),
      borderColor: P99_LINE,
      backgroundColor: P99_LINE,
      borderWidth: 1.5,
      borderDash: [6, 3],
      pointRadius: 0,
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
  const config: LineConfig = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
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
    plugins: [xBands('kvringStepBands', bands), verticalMarkers('kvringEvents', events)],
  };
  return renderPng(config, size);
}

/** Baseline and candidate of one operation, for the compare overlay. */
export interface OverlayData {
  title: string;
  subtitle: string;
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
  const config: LineConfig = {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      scales: {
        x: throughputAxis(Math.max(1, ...allX) * 1.06),
        y: latencyAxis(datasets.flatMap((d) => d.data.map((p) => p.y ?? 0)), 'p99 latency (ms, log scale)'),
      },
      plugins: {
        ...titleOptions(data.title, data.subtitle),
        legend: topLegend(legend),
      },
    },
    plugins: [verticalMarkers('kvringOverlayMaxima', markers.sort((a, b) => a.value - b.value))],
  };
  return renderPng(config, size);
}

/**
 * Log-axis ends on the 1-2-5 grid just outside the positive values, so the lowest and highest
 * points never sit on the frame.
 */
function logBounds(values: number[]): { min?: number; max?: number } {
  const positive = values.filter((v) => v > 0 && Number.isFinite(v));
  if (positive.length === 0) return {};
  const grid = (v: number, up: boolean): number => {
    const exp = Math.floor(Math.log10(v));
    const steps = [1, 2, 5, 10];
    const f = v / 10 ** exp;
    const s = up ? steps.find((x) => x >= f - 1e-9)! : [...steps].reverse().find((x) => x <= f + 1e-9)!;
    return Number((s * 10 ** exp).toPrecision(6));
  };
  return { min: grid(Math.min(...positive) * 0.9, false), max: grid(Math.max(...positive) * 1.12, true) };
}

/** Rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k: axis ends at a readable number. */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  const steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
  const s = steps.find((v) => v >= f - 1e-9) ?? 10;
  return s * 10 ** exp;
}
