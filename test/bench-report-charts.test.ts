import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { writeReports } from '../bench/report/render.js';
import { formatOpsTick, intervalWords, latencyThroughputData, percentileData, percentileGrid, scalingData, timelineData } from '../bench/report/chart-data.js';
import { brokenLine } from '../bench/report/chart-timeline.js';
import { opsTickLabel } from '../bench/report/chart-kit.js';
import { overlaps, placeLabels, type Box } from '../bench/report/label-layout.js';
import { serverCountColor, shade } from '../bench/report/colors.js';
import { configRows, renderIndexHtml, summarizeCauses } from '../bench/report/html.js';
import { makeRunResult } from './helpers/results-fixture.js';

const dir = await mkdtemp(join(tmpdir(), 'kvring-report-'));
after(() => rm(dir, { recursive: true, force: true }));

/** Share of pixels in the central plot region that are not (near) white. */
async function inkShare(png: Buffer): Promise<{ width: number; height: number; ink: number; corner: number[] }> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  // The plot area: inside the axes, below the title and legend.
  const x0 = Math.round(image.width * 0.1);
  const y0 = Math.round(image.height * 0.2);
  const w = Math.round(image.width * 0.8);
  const h = Math.round(image.height * 0.65);
  const data = ctx.getImageData(x0, y0, w, h).data;
  let ink = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i]! < 235 || data[i + 1]! < 235 || data[i + 2]! < 235) ink++;
  }
  return { width: image.width, height: image.height, ink: ink / (w * h), corner: [...ctx.getImageData(2, 2, 1, 1).data] };
}

test('writeReports draws every chart as a 1200×700 PNG with ink in the plot area, plus index.html', async () => {
  const run = makeRunResult({ serverCounts: [1, 2, 3], workloads: ['get', 'put'], clientBoundFrom: 0.95, sloBoundUs: 1000, samplesPerStep: 200 });
  const out = join(dir, 'run');
  const written = await writeReports(run, out);
  const names = written.map((p) => basename(p)).sort();
  assert.deepEqual(names, [
    'get-latency-vs-throughput.png',
    'get-percentiles.png',
    'index.html',
    'put-latency-vs-throughput.png',
    'put-percentiles.png',
    'scaling.png',
    'timeline.png',
  ]);
  for (const path of written.filter((p) => p.endsWith('.png'))) {
    const png = await readFile(path);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is a PNG`);
    const { width, height, ink, corner } = await inkShare(png);
    assert.equal(width, 1200);
    assert.equal(height, 700);
    assert.ok(ink > 0.01, `${basename(path)}: only ${(ink * 100).toFixed(2)}% of the plot area is drawn`);
    assert.deepEqual(corner, [255, 255, 255, 255], `${basename(path)}: opaque white background`);
  }
  const html = await readFile(join(out, 'index.html'), 'utf8');
  for (const n of names.filter((x) => x.endsWith('.png'))) assert.ok(html.includes(`src="${n}"`), `index.html shows ${n}`);
  assert.doesNotMatch(html, /(src|href)="https?:/, 'no external assets: the page opens offline');
  assert.doesNotMatch(html, /<script/);
  assert.match(html, /Synthetic CPU/, 'the machine is described');
  assert.match(html, /client-bound/);
  assert.match(html, /p99&lt;=1ms/, 'the SLO objective is listed (escaped)');
});

test('a chart size option changes the PNG size', async () => {
  const run = makeRunResult({ serverCounts: [1], workloads: ['get'], fractions: [0.5], samplesPerStep: 50 });
  const written = await writeReports(run, join(dir, 'small'), { widthPx: 600, heightPx: 400 });
  const { width, height } = await inkShare(await readFile(written[0]!));
  assert.deepEqual([width, height], [600, 400]);
});

test('latency-vs-throughput data: one series per server count in order of offered load, p50 ≤ p99, maxima from the closed-loop probe', () => {
  const run = makeRunResult({ serverCounts: [1, 2], workloads: ['get'], trials: 3, noise: 0.02, clientBoundFrom: 0.9, sloBoundUs: 2000 });
  const d = latencyThroughputData(run, 'get');
  assert.deepEqual(
    d.series.map((s) => s.serverCount),
    [1, 2],
  );
  for (const s of d.series) {
    assert.equal(s.points.length, 6);
    for (let i = 1; i < s.points.length; i++) assert.ok(s.points[i]!.loadFraction! > s.points[i - 1]!.loadFraction!);
    for (const p of s.points) {
      assert.ok(p.p50Ms <= p.p99Ms && p.p99Ms <= p.p999Ms);
      assert.equal(p.trials, 3, 'trials are combined into one point');
      assert.equal(p.clientBound, (p.loadFraction ?? 0) >= 0.9);
    }
  }
  assert.deepEqual(
    d.maxima.map((m) => m.serverCount),
    [1, 2],
  );
  assert.ok(d.slo && d.slo.points.length === 2 && d.slo.boundMs === 2);
  for (const p of d.slo.points) assert.ok(p.latencyMs <= 2.0001 * 1.1, 'the SLO point lies near or under the bound');
  assert.match(d.subtitle, /3 trials \(medians\)/);
});

test('percentile data: the largest server count, one curve per load level, latency never decreasing with the percentile', () => {
  const run = makeRunResult({ serverCounts: [1, 3], workloads: ['get'], samplesPerStep: 300 });
  const d = percentileData(run, 'get')!;
  assert.equal(d.serverCount, 3);
  assert.equal(d.curves.length, 6);
  for (const c of d.curves) {
    for (let i = 1; i < c.points.length; i++) {
      assert.ok(c.points[i]!.x > c.points[i - 1]!.x);
      assert.ok(c.points[i]!.latencyMs >= c.points[i - 1]!.latencyMs);
    }
  }
  // Higher load → higher p99: the lines are ordered like the levels.
  const p99 = d.curves.map((c) => c.points.find((p) => Math.abs(p.percentile - 99) < 1e-9)!.latencyMs);
  for (let i = 1; i < p99.length; i++) assert.ok(p99[i]! >= p99[i - 1]!);
  assert.deepEqual(percentileGrid(1000).slice(0, 4).map((p) => Math.round(p * 10) / 10), [0, 20.6, 36.9, 49.9]);
  assert.ok(Math.abs(percentileGrid(1000).at(-1)! - 99.9) < 1e-9);
});

test('scaling and timeline data: max throughput per server count; one band per step; errors counted', () => {
  const run = makeRunResult({ serverCounts: [1, 2, 3], workloads: ['get', 'put'] });
  const s = scalingData(run);
  assert.deepEqual(
    s.lines.map((l) => l.workload),
    ['get', 'put'],
  );
  for (const l of s.lines) {
    assert.deepEqual(
      l.points.map((p) => p.serverCount),
      [1, 2, 3],
    );
    assert.ok(l.points.every((p) => p.fromClosedLoop));
    assert.ok(l.points[2]!.opsPerSec > l.points[0]!.opsPerSec);
  }
  run.intervals[3]!.errors = 7;
  const t = timelineData(run);
  assert.equal(t.bands.length, run.steps.length);
  assert.equal(t.totalErrors, 7);
  assert.equal(t.points.length, run.intervals.length);
  for (let i = 1; i < t.bands.length; i++) assert.equal(t.bands[i]!.fromSec, t.bands[i - 1]!.toSec, 'steps back to back: bands tile the timeline');
  assert.ok(t.points.every((p) => !p.afterGap), 'and no line breaks');
});

test('timeline: the title follows --interval_ms; lines break after a preload or a long pause, and the gap stays unshaded', () => {
  const run = makeRunResult({ serverCounts: [1, 2], workloads: ['get'], fractions: [0.5], stepDurationSec: 2 });
  assert.equal(timelineData(run).title, 'Throughput and p99 latency per second, whole run', 'older files without intervalMs: one second');
  for (const [ms, words] of [[250, '250 ms'], [1500, '1500 ms'], [2000, '2 s'], [1000, 'second']] as const) {
    run.config['intervalMs'] = ms;
    assert.equal(intervalWords(ms), words);
    assert.equal(timelineData(run).title, `Throughput and p99 latency per ${words}, whole run`);
    assert.equal(timelineData(run).intervalMs, ms);
  }
  // Steps 0–1 (1 server) take 0–4 s. Then the 2-server ring is preloaded for 3 s, so step 2 runs
  // 7–9 s; step 3 follows after a 0.2 s pause (no break: under half an interval) and ends at 11.2 s.
  const shifted = structuredClone(run);
  for (const iv of shifted.intervals) if (iv.stepIndex >= 2) iv.tSec += 3;
  for (const iv of shifted.intervals) if (iv.stepIndex >= 3) iv.tSec += 0.2;
  shifted.events = [{ tSec: 7, kind: 'preload', detail: '10000 keys over 2 server(s)' }];
  const t = timelineData(shifted);
  const breaks = t.points.flatMap((p, i) => (p.afterGap ? [i] : []));
  assert.deepEqual(breaks, [4], 'one break: before the first interval of step 2, after the preload');
  assert.deepEqual(
    t.bands.map((b) => [b.fromSec, b.toSec]),
    [
      [0, 2],
      [2, 4],
      [7, 9],
      [9, 11.2],
    ],
    'the preload (4–7 s) is unshaded; the short pause joins the band before it',
  );
  // Without the event a 3 s pause is still a gap; a pause of a third of an interval is not.
  shifted.events = [];
  assert.deepEqual(timelineData(shifted).points.flatMap((p, i) => (p.afterGap ? [i] : [])), [4]);

  const line = brokenLine(t.points, (p) => p.opsPerSec, 3);
  assert.equal(line.data.length, t.points.length + 1, 'one break point');
  assert.equal(line.data[4]!.y, null);
  assert.equal(line.data[4]!.x, 6, 'placed in the gap, between the points either side of it (4 s and 8 s)');
  assert.ok(line.radii.every((r) => r === 0), 'no point stands alone');
  const lone = brokenLine([{ ...t.points[0]!, afterGap: false }, { ...t.points[1]!, afterGap: true }], (p) => p.opsPerSec, 3);
  assert.deepEqual(lone.radii, [3, 0, 3], 'a segment of one point gets a dot, or it would not be drawn');
});

test('throughput ticks read like round numbers: 5k, not 5.00k', () => {
  assert.deepEqual([0, 500, 2000, 5000, 12_500, 120_000, 1_500_000, 2_000_000].map(opsTickLabel), ['0', '500', '2k', '5k', '12.5k', '120k', '1.5M', '2M']);
  assert.equal(formatOpsTick(4870), '4.87k');
});

test('colours: a server count has one colour everywhere; load levels are shades of it', () => {
  // The colour comes from the count itself, so 1 server is blue in every chart of every run.
  assert.deepEqual([1, 2, 3].map(serverCountColor), ['#1f77b4', '#d62728', '#2ca02c'], 'blue, red, green as the manual says');
  const ten = Array.from({ length: 10 }, (_, i) => serverCountColor(i + 1));
  assert.equal(new Set(ten).size, 10, 'counts 1..10 get ten different colours');
  assert.equal(serverCountColor(11), serverCountColor(1), 'the palette wraps after 10');
  assert.equal(shade('#1f77b4', 0.6), '#1f77b4');
  assert.notEqual(shade('#1f77b4', 0), shade('#1f77b4', 1));
});

test('index.html escapes labels and configuration', () => {
  const run = makeRunResult({ serverCounts: [1], workloads: ['get'], fractions: [0.5] });
  run.label = '<script>alert(1)</script>';
  run.config['note'] = '"quoted" & <b>';
  const html = renderIndexHtml(run, []);
  assert.doesNotMatch(html, /<script>alert/);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /&quot;quoted&quot; &amp; &lt;b&gt;/);
});

test('client-bound causes that differ only in their numbers are summarised as one kind', () => {
  const text = summarizeCauses(['p99 send lateness 2100 µs > 1000 µs: behind', 'p99 send lateness 4100 µs > 1000 µs: behind', 'worker event loop 97% busy']);
  assert.equal(text, 'p99 send lateness 2100 µs > 1000 µs: behind (and 1 more like it); worker event loop 97% busy');
});

test('the configuration shows --max_error_rate and --load_levels in their flags\' unit, percent, not the stored fraction', () => {
  const rows = new Map(configRows({ maxErrorRate: 0.01, loadLevels: [0.25, 0.5, 1.05], intervalMs: 1000, label: 'x' }));
  assert.equal(rows.get('maxErrorRate'), '1% (--max_error_rate 1; stored as 0.01)');
  assert.equal(rows.get('loadLevels'), '25%, 50%, 105% (--load_levels 25,50,105; stored as [0.25,0.5,1.05])');
  assert.equal(rows.get('intervalMs'), '1000', 'settings in their flag\'s unit are shown as stored');
  assert.equal(rows.get('label'), 'x');
  const html = renderIndexHtml(makeRunResult({ serverCounts: [1], workloads: ['get'], fractions: [0.5] }), []);
  assert.match(html, /<th>maxErrorRate<\/th><td>1% \(--max_error_rate 1; stored as 0\.01\)<\/td>/);
});

test('scaling labels: labels of points at the same place are spread so that none covers another label or a point', () => {
  const area: Box = { x: 0, y: 0, width: 1000, height: 600 };
  // Three workloads with the same throughput at each of four server counts: twelve labels on four spots.
  const anchors = [100, 400, 700, 950].flatMap((x, i) => [0, 1, 2].map(() => ({ anchorX: x, anchorY: 500 - i * 120, width: 140, height: 15, clearancePx: 10 })));
  const points: Box[] = anchors.map((a) => ({ x: a.anchorX - 8, y: a.anchorY - 8, width: 16, height: 16 }));
  const boxes = placeLabels(anchors, points, area);
  assert.equal(boxes.length, anchors.length);
  for (let i = 0; i < boxes.length; i++) {
    const b = boxes[i]!;
    assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= 1000 && b.y + b.height <= 600, `label ${i} inside the plot`);
    for (const p of points) assert.ok(!overlaps(b, p, 0), `label ${i} covers no point`);
    for (let j = 0; j < i; j++) assert.ok(!overlaps(b, boxes[j]!), `labels ${j} and ${i} do not overlap`);
    const a = anchors[i]!;
    const dx = Math.max(b.x - a.anchorX, 0, a.anchorX - (b.x + b.width));
    const dy = Math.max(b.y - a.anchorY, 0, a.anchorY - (b.y + b.height));
    assert.ok(Math.hypot(dx, dy) < 50, `label ${i} stays near its point`);
  }
  const lone = placeLabels([{ anchorX: 500, anchorY: 300, width: 60, height: 15, clearancePx: 10 }], [], area)[0]!;
  assert.deepEqual(lone, { x: 470, y: 275, width: 60, height: 15 }, 'a label with room goes centred above its point');
  const atTop = placeLabels([{ anchorX: 500, anchorY: 5, width: 60, height: 15, clearancePx: 10 }], [], area)[0]!;
  assert.equal(atTop.y, 15, 'below when there is no room above');
});

test('a step cut short by an interrupt is marked partial in the chart data and index.html, apart from the curve', async () => {
  const run = makeRunResult({ serverCounts: [1], workloads: ['get'], fractions: [0.25, 0.5] });
  const cut = run.steps.find((s) => s.phase === 'level' && s.loadFraction === 0.5)!;
  cut.partial = true;
  const data = latencyThroughputData(run, 'get');
  const points = data.series[0]!.points;
  assert.deepEqual(points.map((p) => p.partial), [false, true]);
  const dir = await mkdtemp(join(tmpdir(), 'kvring-partial-'));
  after(() => rm(dir, { recursive: true, force: true }));
  await writeReports(run, dir);
  const html = await readFile(join(dir, 'index.html'), 'utf8');
  assert.match(html, /title="cut short by an interrupt after [\d.]+ s">partial</);
});
