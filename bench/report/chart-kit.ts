// The parts every report chart shares: Chart.js drawn on an @napi-rs/canvas (prebuilt Skia, no
// system libraries) into PNG bytes, the white background, marker and label plugins, axes, legends,
// tick labels and log-axis bounds. One file per chart (chart-*.ts) builds on these; nothing here
// reads results or files.

import { createCanvas } from '@napi-rs/canvas';
import { drawPoint } from 'chart.js/helpers';
import { Chart, registerables, type ChartConfiguration, type ChartDataset, type LegendItem, type Plugin, type PointStyle, type ScriptableContext, type Scale } from 'chart.js';
import { BACKGROUND, ERROR_RED, GRID, SLO_COLOR, TEXT, serverCountColor, shade, withAlpha } from './colors.js';
import {
  formatOpsTick,
  type LatencyThroughputData,
  type LevelPoint,
  type PercentileData,
  type ScalingData,
  type TimelineData,
} from './chart-data.js';
import { serversLabel } from '../analysis/step-groups.js';

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
export interface Pt {
  x: number;
  y: number | null;
  clientBound?: boolean;
}

export type LineConfig = ChartConfiguration<'line', Pt[]>;
export type LineDataset = ChartDataset<'line', Pt[]>;

/** Renders a line chart of `datasets` (points as {x, y}, no parsing) to PNG bytes. */
export function renderLineChart(datasets: LineDataset[], options: ChartOptions, plugins: Plugin<'line'>[], size: ChartSize): Promise<Buffer> {
  return renderPng({ type: 'line', data: { datasets }, options: { parsing: false, ...options }, plugins }, size);
}

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

export const whiteBackground: Plugin<'line'> = {
  id: 'kvringWhiteBackground',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

export interface Marker {
  value: number;
  color: string;
  label: string;
  dash: number[];
}

type Ctx = Chart['ctx'];

/** A marker's dashed line from (x0, y0) to (x1, y1); leaves the label font set. */
function markerLine(ctx: Ctx, m: Marker, x0: number, y0: number, x1: number, y1: number): void {
  ctx.strokeStyle = m.color;
  ctx.lineWidth = 1.5;
  ctx.setLineDash(m.dash);
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = m.color;
  ctx.font = "12px 'DejaVu Sans', sans-serif";
}

/** A marker's label with its baseline at (x, y) on a translucent white box `width` wide. */
function markerLabel(ctx: Ctx, m: Marker, x: number, y: number, width: number): void {
  ctx.fillStyle = withAlpha('#ffffff', 0.8);
  ctx.fillRect(x - 2, y - 11, width + 4, 14);
  ctx.fillStyle = m.color;
  ctx.fillText(m.label, x, y);
}

/** Vertical lines at x values (closed-loop maxima, events), labelled at the top of the plot area. */
export function verticalMarkers(id: string, markers: Marker[], scaleId = 'x'): Plugin<'line'> {
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
        markerLine(ctx, m, x, top, x, bottom);
        const width = ctx.measureText(m.label).width;
        const tx = x + 4 + width > right ? x - 4 - width : x + 4;
        let row = rows.findIndex((spans) => spans.every(([a, b]) => tx + width + 6 < a || tx > b + 6));
        if (row < 0) {
          rows.push([]);
          row = rows.length - 1;
        }
        rows[row]!.push([tx, tx + width]);
        markerLabel(ctx, m, tx, top + 14 + row * 15, width);
      });
      ctx.restore();
    },
  };
}

/** A horizontal line at a y value (the SLO bound), labelled at the right end. */
export function horizontalMarker(id: string, marker: Marker, scaleId = 'y'): Plugin<'line'> {
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
      markerLine(ctx, marker, left, y, right, y);
      const width = ctx.measureText(marker.label).width;
      markerLabel(ctx, marker, right - width - 6, y - 5, width);
      ctx.restore();
    },
  };
}

/** Shaded x ranges behind the data (one per step of the timeline, tinted by server count). */
export function xBands(id: string, bands: { from: number; to: number; color: string; label: string | null }[]): Plugin<'line'> {
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

/** Axis ticks on a log scale: 1, 2, 5 per decade, printed without float noise. */
export function logTickLabel(value: number | string): string {
  const v = Number(value);
  const mantissa = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  const m = Math.round(mantissa * 1000) / 1000;
  if (m !== 1 && m !== 2 && m !== 5) return '';
  return Number(v.toPrecision(3)).toString();
}

/** Throughput axis ticks as people write them: "5k", "12.5k", not "5.00k". */
export function opsTickLabel(value: number | string): string {
  return formatOpsTick(Number(value));
}

/** Title and subtitle; a subtitle given as several lines prints them one under another. */
export function titleOptions(title: string, subtitle: string | string[]): NonNullable<LineConfig['options']>['plugins'] {
  return {
    title: { display: true, text: title, font: { size: 20, weight: 'bold' }, padding: { top: 10, bottom: 4 } },
    subtitle: { display: true, text: subtitle, font: { size: 13 }, color: '#555555', padding: { bottom: 10 } },
  };
}

export type ChartOptions = NonNullable<LineConfig['options']>;
export type AxisOptions = NonNullable<ChartOptions['scales']>[string];

export function axisTitle(text: string, color?: string): { display: true; text: string; font: { size: number }; color?: string } {
  return color === undefined ? { display: true, text, font: { size: 15 } } : { display: true, text, font: { size: 15 }, color };
}

/**
 * The legend above the plot, with our own entries (Chart.js's default drops dashes and shapes).
 * `sampleWidthPx`: room for each entry's sample when the entries are legendSample() pictures.
 */
export function topLegend(items: LegendItem[], sampleWidthPx?: number): NonNullable<ChartOptions['plugins']>['legend'] {
  return { position: 'top', labels: { usePointStyle: true, generateLabels: () => items, padding: 14, ...(sampleWidthPx === undefined ? {} : { pointStyleWidth: sampleWidthPx }) } };
}

export interface SampleStyle {
  /** A line through the sample, in this colour and dash; none when absent. */
  line?: { color: string; dash: number[]; widthPx: number };
  /** A marker in the middle, drawn as the chart draws its points. */
  point?: { style: PointStyle; radiusPx: number; fill: string; stroke: string; borderPx: number };
}

/** Width of a legendSample picture (pass it to topLegend as sampleWidthPx). */
export const SAMPLE_WIDTH_PX = 40;

/**
 * A legend entry's sample as a small picture: a stretch of the line in its dash with the point
 * marker on it. Chart.js legends show either a line style or a point shape, never both, and a
 * reader needs both to tell which line is which workload.
 */
export function legendSample(style: SampleStyle, heightPx = 16): PointStyle {
  const canvas = createCanvas(SAMPLE_WIDTH_PX, heightPx);
  const ctx = canvas.getContext('2d');
  const mid = heightPx / 2;
  if (style.line) {
    ctx.strokeStyle = style.line.color;
    ctx.lineWidth = style.line.widthPx;
    ctx.setLineDash(style.line.dash);
    ctx.beginPath();
    ctx.moveTo(1, mid);
    ctx.lineTo(SAMPLE_WIDTH_PX - 1, mid);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (style.point) {
    ctx.fillStyle = style.point.fill;
    ctx.strokeStyle = style.point.stroke;
    ctx.lineWidth = style.point.borderPx;
    // Chart.js's own marker drawing, so the sample matches the plot exactly.
    // Alone, the marker sits at the right, next to its text; on a line, in the middle of it.
    const x = style.line ? SAMPLE_WIDTH_PX / 2 : SAMPLE_WIDTH_PX - style.point.radiusPx - style.point.borderPx - 2;
    drawPoint(ctx as unknown as Parameters<typeof drawPoint>[0], { pointStyle: style.point.style, radius: style.point.radiusPx, borderWidth: style.point.borderPx }, x, mid);
  }
  // @napi-rs/canvas reports itself as an HTMLCanvasElement, which Chart.js draws as an image.
  return canvas as unknown as PointStyle;
}

/** Achieved throughput from 0 to just past `maxOpsPerSec`, at a readable number. */
export function throughputAxis(maxOpsPerSec: number): AxisOptions {
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
export function latencyAxis(valuesMs: number[], title: string): AxisOptions {
  return {
    type: 'logarithmic',
    ...logBounds(valuesMs),
    title: axisTitle(title),
    ticks: { callback: logTickLabel, autoSkip: false },
    grid: { color: GRID },
  };
}

export function legendItem(text: string, style: { color: string; pointStyle: PointStyle; dash?: number[]; lineWidth?: number; fill?: string }): LegendItem {
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

export const P50_DASH = [8, 5];
export const MARKER_DASH = [3, 4];

/** pointStyle per point: a cross for client-bound steps, so they read as "not the server's number". */
export function pointStyleFor(base: PointStyle): (ctx: ScriptableContext<'line'>) => PointStyle {
  return (ctx) => ((ctx.raw as Pt | undefined)?.clientBound ? 'crossRot' : base);
}

export function pointRadiusFor(base: number): (ctx: ScriptableContext<'line'>) => number {
  return (ctx) => ((ctx.raw as Pt | undefined)?.clientBound ? base + 4 : base);
}

/**
 * Log-axis ends on the 1-2-5 grid just outside the positive values, so the lowest and highest
 * points never sit on the frame.
 */
export function logBounds(values: number[]): { min?: number; max?: number } {
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

/** Point shapes that tell workloads apart where colour tells server counts apart. */
export const WORKLOAD_POINT_STYLES: PointStyle[] = ['circle', 'rect', 'triangle', 'rectRot'];
