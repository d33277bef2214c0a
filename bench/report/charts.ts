// The report's charts, one renderer per chart (each in its own chart-*.ts): data of one chart in
// (chart-data.ts), PNG bytes out.

export { DEFAULT_SIZE, niceCeil, type ChartSize } from './chart-kit.js';
export { renderLatencyThroughput } from './chart-latency-throughput.js';
export { renderOverlay, type OverlayData } from './chart-overlay.js';
export { renderPercentiles } from './chart-percentiles.js';
export { renderScaling } from './chart-scaling.js';
export { renderTimeline } from './chart-timeline.js';
