// <op>-percentiles.png: latency by percentile, one line per load level.

import { Chart, type Scale } from 'chart.js';
import { GRID, serverCountColor, shade } from './colors.js';
import { type PercentileData } from './chart-data.js';
import { ChartSize, DEFAULT_SIZE, LineDataset, axisTitle, latencyAxis, legendItem, renderLineChart, titleOptions } from './chart-kit.js';

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
  return renderLineChart(
    datasets,
    {
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
    [],
    size,
  );
}
