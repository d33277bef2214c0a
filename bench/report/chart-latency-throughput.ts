// <op>-latency-vs-throughput.png: latency against achieved throughput per server count.

import { type LegendItem, type Plugin, type PointStyle } from 'chart.js';
import { BACKGROUND, SLO_COLOR, TEXT, serverCountColor } from './colors.js';
import { formatOps, type LatencyThroughputData, type LevelPoint } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, MARKER_DASH, Marker, P50_DASH, Pt, WORKLOAD_POINT_STYLES, horizontalMarker, latencyAxis, legendItem, renderLineChart, throughputAxis, titleOptions, topLegend, verticalMarkers } from './chart-kit.js';
import { serversLabel } from '../analysis/step-groups.js';


/**
 * `<op>-latency-vs-throughput.png`: per server count, p99 (solid) and p50 (dashed) latency on a
 * log axis against achieved throughput; closed-loop maxima as dotted verticals, client-bound steps
 * as crosses, the SLO bound and the best throughput meeting it as a line and stars.
 */
export async function renderLatencyThroughput(data: LatencyThroughputData, size: ChartSize = DEFAULT_SIZE): Promise<Buffer> {
  const datasets: LineDataset[] = [];
  const workloads = [...new Set(data.series.map((s) => s.workload))];
  const multiWorkload = workloads.length > 1;
  // A client-bound step measured the generator, not the server: it is drawn apart, as a cross with
  // no line to it, and the curve breaks there instead of running through it.
  // A partial step (cut short by an interrupt) is not a whole step either: drawn apart the same way.
  const apartFromCurve = (p: LevelPoint): boolean => p.clientBound || p.partial;
  const toPt = (p: LevelPoint, y: number): Pt => ({ x: p.opsPerSec, y: y > 0 && !apartFromCurve(p) ? y : null });
  const boundPt = (p: LevelPoint, y: number): Pt => ({ x: p.opsPerSec, y: y > 0 ? y : null, clientBound: true });
  const apart: LineDataset[] = [];
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
      pointStyle: base,
      pointRadius: 4,
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
      pointStyle: base,
      pointRadius: 3,
      pointBorderWidth: 1.5,
      tension: 0,
    });
    const bound = s.points.filter(apartFromCurve);
    if (bound.length > 0) {
      // p99 as a bold cross, p50 as a small thin one: the two stay apart as their curves are.
      apart.push(
        { label: `${name} p99 client-bound`, data: bound.map((p) => boundPt(p, p.p99Ms)), showLine: false, borderColor: color, backgroundColor: color, pointStyle: 'crossRot', pointRadius: 7, pointBorderWidth: 2.5 },
        { label: `${name} p50 client-bound`, data: bound.map((p) => boundPt(p, p.p50Ms)), showLine: false, borderColor: color, backgroundColor: color, pointStyle: 'crossRot', pointRadius: 4, pointBorderWidth: 1.2 },
      );
    }
  }
  datasets.push(...apart);
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
      label: `max ${m.serverCount} srv${multiWorkload ? ` ${m.workload}` : ''}: ${formatOps(m.opsPerSec)}${m.clientBound ? ' (client-bound: the generator\'s limit)' : ''}`,
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
  const bounds = data.series.flatMap((s) => s.points);
  if (bounds.some((p) => p.clientBound)) {
    legend.push(legendItem('client-bound step (apart: measures the generator)', { color: TEXT, pointStyle: 'crossRot' }));
  }
  if (bounds.some((p) => p.partial && !p.clientBound)) {
    legend.push(legendItem('partial step (interrupted, apart)', { color: TEXT, pointStyle: 'crossRot' }));
  }
  if (data.slo && data.slo.points.length > 0) {
    legend.push(legendItem('best throughput within SLO', { color: TEXT, pointStyle: 'star' }));
  }

  return renderLineChart(
    datasets,
    {
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
    size,
  );
}
